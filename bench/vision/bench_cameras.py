"""How many live cameras at 5 fps one machine holds: N real worker processes on looping clips.

Run: PYTHONPATH=src .venv/bin/python -m bench.vision.bench_cameras --cameras 5 --seconds 40
     [--mqtt mqtt://user:password@127.0.0.1:PORT] [--detector yolox]

Each worker plays a shared clip in real time (as a camera would deliver it), analyses 5 frames a
second, publishes to the broker under a private topic prefix and is stopped with SIGTERM. The
figure is the analysis rate each worker kept from its first frame on (target 5.0; start-up is
left out) and the CPU the workers used after a warm-up; the ceiling in the same run is the rate
asked for (5 fps per camera).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("JIAYUAN_SHARED_DATA", ROOT.parent / "shared" / "data"))
CLIPS = {
    "person_1.mp4": ["--line", "entry:0,360,560,360", "--line", "exit:600,432,600,0"],
    "car_1.mp4": ["--line", "lane:0,216,768,216", "--lane-class", "car"],
}


def _test_broker_url() -> str:
    """JIAYUAN_TEST_MQTT_URL, else the URL `make services` wrote (the broker refuses anonymous clients)."""
    written = Path(__file__).resolve().parents[2] / "var" / "test-services.env"
    if "JIAYUAN_TEST_MQTT_URL" not in os.environ and written.exists():
        return written.read_text().strip().partition("=")[2]
    return os.environ.get("JIAYUAN_TEST_MQTT_URL", "")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    """Start the workers, let them run, stop them and report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cameras", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--warmup", type=float, default=25.0)
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--detector", default="yolox")
    parser.add_argument("--mqtt", default=_test_broker_url())
    args = parser.parse_args()
    prefix = f"jybench-{uuid.uuid4().hex[:8]}"
    clips = list(CLIPS.items())
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    processes = []
    for i in range(args.cameras):
        clip, options = clips[i % len(clips)]
        command = [
            sys.executable, "-m", "jiayuan.cli.main", "vision", "run", "--camera", f"bench-cam{i + 1}",
            "--source", str(DATA / "count" / clip), "--loop", "--fps", str(args.fps), "--live-fps", "2",
            "--mqtt", args.mqtt, "--topic-prefix", prefix, "--detector", args.detector, *options,
        ]  # fmt: skip
        processes.append(
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        )
    time.sleep(args.warmup)  # imports and model loading are not the steady state
    load_before = os.getloadavg()
    cpu_before, started = sum(cpu_seconds(p.pid) for p in processes), time.monotonic()
    time.sleep(args.seconds)
    steady_cpu = sum(cpu_seconds(p.pid) for p in processes) - cpu_before
    elapsed = time.monotonic() - started
    for process in processes:
        process.send_signal(signal.SIGTERM)
    rates = []
    for process in processes:
        out, _ = process.communicate(timeout=60)
        found = re.search(r"每秒\s*([0-9.]+)\s*帧", out.decode())
        if not found:
            print(out.decode()[-300:], file=sys.stderr)
        rates.append(float(found.group(1)) if found else 0.0)
    cores = steady_cpu / elapsed
    per_camera_at_target = cores / args.cameras * args.fps / max(min(rates), 1e-6) if rates else 0.0
    print(
        json.dumps(
            {
                "cameras": args.cameras,
                "detector": args.detector,
                "seconds": round(elapsed, 1),
                "target_fps": args.fps,
                "kept_fps_per_camera": [round(r, 2) for r in rates],
                "min_ratio_to_target": round(min(rates) / args.fps, 2),
                "steady_cpu_cores_used": round(cores, 2),
                "cpu_per_camera_at_target": round(per_camera_at_target, 3),
                "cameras_per_2_cores": int(2 / per_camera_at_target) if per_camera_at_target else 0,
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
            }
        )
    )


if __name__ == "__main__":
    main()
