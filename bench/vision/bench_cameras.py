"""How many live cameras at 5 fps one machine holds, beside the platform, and how late the live view is.

Run: PYTHONPATH=src .venv/bin/python -m bench.vision.bench_cameras --cameras 10 --seconds 60
     [--mqtt mqtt://user:password@127.0.0.1:PORT] [--warmup 30] [--fps 5] [--live-fps 2]

What runs, all on this machine: the platform as `jiayuan serve` runs it (web app and the device ingest in
its child process, SQLite in a temporary folder, the project's Mosquitto under a private topic prefix), the
cameras registered at a gate with a staff account; N real `jiayuan vision run` processes, each playing a
shared clip in real time (as a camera delivers it) and analysing `--fps` frames a second; and, in this
process, one client per camera reading the console's live MJPEG stream
(`/api/v1/cameras/{id}/live.mjpeg`, signed in with the staff's bearer token) as a browser does.

Figures, over the steady window after the warm-up (imports and model loading are not the steady state):
- the analysis rate each worker kept (its own count from its first frame, printed when it stops), as a
  ratio to the target and to the detector-alone ceiling measured in the same run before the workers start
  (YOLOX-Nano on every frame of the same clips, one thread; the ceiling per camera is the machine's
  cores times the per-core rate, shared by the cameras);
- the CPU the workers and the platform used;
- frame-to-browser latency of the live view: each live JPEG carries the wall-clock time its frame was
  captured in the worker (`vision.annotate.stamp`), and the client subtracts it from the time the whole
  frame arrived; p50/p95/max over every frame of every camera;
- the health each camera's worker reported (stored by the ingest from its retained status).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx

from bench.ingest.bench_site import seed_gate, test_broker_url
from jiayuan.db import migrate
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.devices.models import DeviceStatus
from jiayuan.settings import get_settings
from jiayuan.vision.annotate import captured_at
from jiayuan.vision.detect import make_detector

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("JIAYUAN_SHARED_DATA", ROOT.parent / "shared" / "data"))
CLIPS = {
    "person_1.mp4": ["--line", "entry:0,360,560,360", "--line", "exit:600,432,600,0"],
    "car_1.mp4": ["--line", "lane:0,216,768,216", "--lane-class", "car"],
}
BOUNDARY = b"--jiayuanframe\r\n"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) from /proc; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The direct children of a process (the ingest child of `jiayuan serve`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def detector_ceiling(frames: int) -> dict[str, float]:
    """YOLOX-Nano alone on every frame of the clips, one thread: frames per CPU second and per wall second."""
    cv2.setNumThreads(1)
    detector = make_detector(get_settings().vision_model_path)
    work = []
    for clip in CLIPS:  # `frames` of each clip, at the size the workers see
        capture = cv2.VideoCapture(str(DATA / "count" / clip))
        for _ in range(frames):
            ok, frame = capture.read()
            if not ok:
                break
            work.append(frame)
        capture.release()
    detector.detect(work[0])  # the first run allocates
    c0, w0 = time.process_time(), time.perf_counter()
    for frame in work:
        detector.detect(frame)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {"per_core_fps": len(work) / cpu, "wall_fps": len(work) / wall}


class StreamReader(threading.Thread):
    """Reads one camera's live MJPEG stream as a browser does; keeps each whole frame's delay."""

    def __init__(self, base: str, camera: str, token: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url = f"{base}/api/v1/cameras/{camera}/live.mjpeg"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.stop = stop
        self.delays: list[tuple[float, float]] = []  # (arrived, seconds since capture)
        self.errors = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with httpx.stream("GET", self.url, headers=self.headers, timeout=40) as response:
                    if response.status_code != 200:
                        self.errors += 1
                        time.sleep(1)
                        continue
                    self._read(response.iter_raw())
            except httpx.HTTPError:
                self.errors += 1
                time.sleep(0.5)

    def _read(self, chunks: Iterator[bytes]) -> None:
        buffer = b""
        for chunk in chunks:
            buffer += chunk
            while True:
                start = buffer.find(BOUNDARY)
                head_end = buffer.find(b"\r\n\r\n", start) if start >= 0 else -1
                if head_end < 0:
                    break
                length = re.search(rb"Content-Length: (\d+)", buffer[start:head_end])
                if length is None:
                    buffer = buffer[head_end + 4 :]
                    continue
                end = head_end + 4 + int(length.group(1))
                if len(buffer) < end:
                    break
                arrived, jpeg = time.time(), buffer[head_end + 4 : end]
                buffer = buffer[end:]
                taken = captured_at(jpeg)
                if taken is not None:
                    self.delays.append((arrived, arrived - taken))
            if self.stop.is_set():
                return


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> None:
    """Start the platform and the workers, read the streams, stop everything and report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cameras", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=30.0)
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--live-fps", type=float, default=2.0)
    parser.add_argument("--ceiling-frames", type=int, default=60)
    parser.add_argument("--mqtt", default=test_broker_url())
    args = parser.parse_args()
    prefix = f"jybench-{uuid.uuid4().hex[:8]}"
    cameras = [f"bench-cam{i + 1}" for i in range(args.cameras)]
    load_at_start = os.getloadavg()
    ceiling = detector_ceiling(args.ceiling_frames)
    cores = os.cpu_count() or 1
    workdir = Path(tempfile.mkdtemp(prefix="jybench-cams-"))
    db_url = f"sqlite:///{workdir / 'bench.db'}"
    migrate.upgrade(db_url)
    token = seed_gate(db_url, dict.fromkeys(cameras, "camera"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    platform_env = {
        **env,
        "JIAYUAN_DATABASE_URL": db_url,
        "JIAYUAN_VAR_DIR": str(workdir),
        "JIAYUAN_MQTT_URL": args.mqtt,
        "JIAYUAN_MQTT_TOPIC_PREFIX": prefix,
    }
    serve = subprocess.Popen(
        [sys.executable, "-m", "jiayuan.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--no-migrate"],
        env=platform_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/healthz", timeout=2)
            break
        except httpx.HTTPError:
            time.sleep(0.5)
    clips = list(CLIPS.items())
    workers = []
    for i, camera in enumerate(cameras):
        clip, options = clips[i % len(clips)]
        command = [
            sys.executable, "-m", "jiayuan.cli.main", "vision", "run", "--camera", camera,
            "--source", str(DATA / "count" / clip), "--loop", "--fps", str(args.fps),
            "--live-fps", str(args.live_fps), "--mqtt", args.mqtt, "--topic-prefix", prefix, *options,
        ]  # fmt: skip
        workers.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL))
    stop = threading.Event()
    readers = [StreamReader(base, camera, token, stop) for camera in cameras]
    for reader in readers:
        reader.start()
    time.sleep(args.warmup)
    platform = [serve.pid, *children(serve.pid)]
    load_before = os.getloadavg()
    worker_cpu0 = sum(cpu_seconds(p.pid) for p in workers)
    platform_cpu0 = sum(cpu_seconds(pid) for pid in platform)
    started_wall, started = time.time(), time.monotonic()
    time.sleep(args.seconds)
    elapsed = time.monotonic() - started
    worker_cores = (sum(cpu_seconds(p.pid) for p in workers) - worker_cpu0) / elapsed
    platform_cores = (sum(cpu_seconds(pid) for pid in platform) - platform_cpu0) / elapsed
    load_after = os.getloadavg()
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        health = {
            row.device_id: [row.state, row.health, [r["text"] for r in row.health_reasons or []]]
            for row in session.query(DeviceStatus).filter(DeviceStatus.device_id.in_(cameras))
        }
    engine.dispose()
    stop.set()
    for process in workers:
        process.send_signal(signal.SIGTERM)
    rates = []
    for process in workers:
        out, _ = process.communicate(timeout=60)
        found = re.search(r"每秒\s*([0-9.]+)\s*帧", out.decode())
        if not found:
            print(out.decode()[-300:], file=sys.stderr)
        rates.append(float(found.group(1)) if found else 0.0)
    serve.send_signal(signal.SIGTERM)
    serve.wait(timeout=30)
    delays = [d for reader in readers for arrived, d in reader.delays if arrived >= started_wall]
    ceiling_per_camera = ceiling["per_core_fps"] * cores / args.cameras
    print(
        json.dumps(
            {
                "cameras": args.cameras,
                "cores": cores,
                "seconds": round(elapsed, 1),
                "target_fps": args.fps,
                "live_fps": args.live_fps,
                "detector_alone_fps_per_core": round(ceiling["per_core_fps"], 1),
                "detector_alone_wall_fps_one_thread": round(ceiling["wall_fps"], 1),
                "detector_alone_ceiling_per_camera": round(ceiling_per_camera, 2),
                "kept_fps_per_camera": [round(r, 2) for r in rates],
                "min_ratio_to_target": round(min(rates) / args.fps, 2),
                "ratio_to_ceiling_per_camera": [round(r / ceiling_per_camera, 2) for r in rates],
                "worker_cpu_cores": round(worker_cores, 2),
                "worker_cpu_per_camera": round(worker_cores / args.cameras, 3),
                "platform_cpu_cores": round(platform_cores, 2),
                "live_frames_measured": len(delays),
                "live_latency_s": {
                    "p50": round(statistics.median(delays), 3) if delays else None,
                    "p95": round(percentile(delays, 0.95), 3) if delays else None,
                    "max": round(max(delays), 3) if delays else None,
                },
                "stream_errors": sum(r.errors for r in readers),
                "health": health,
                "load_average_at_start": [round(x, 2) for x in load_at_start],
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in load_after],
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
