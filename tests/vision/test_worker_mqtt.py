"""The worker on a real clip, through the project's Mosquitto and ingest into the gate's flow counters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.access.models import FlowBucket
from jiayuan.broker_link import parse_mqtt_url
from jiayuan.devices.models import DeadLetter, DeviceEvent, DeviceSnapshot
from jiayuan.devices.protocol import EVENT_PAYLOADS
from jiayuan.devices.protocol import Envelope as PlatformEnvelope
from jiayuan.ingest.runner import IngestLoop
from jiayuan.vision.capture import FrameSource
from jiayuan.vision.config import CameraConfig, LineConfig
from jiayuan.vision.detect import make_detector
from jiayuan.vision.pipeline import Pipeline
from jiayuan.vision.publish import Publisher
from jiayuan.vision.worker import run_camera
from tests.conftest import make_test_settings
from tests.factories import seed_site
from tests.ingest.running import ingesting

pytestmark = pytest.mark.mqtt
CAMERA = "jjhy-gate1-cam"  # a camera device of gate 1 in the seeded registry
CLIP = "person_5.mp4"
# The clip's labelled lines (data/count/labels.csv): entering (in = up) and leaving (out = right).
ENTRY, EXIT = "0,360,560,360", "600,432,600,0"


@pytest.fixture
def model(data_dir: Path) -> Path:
    """The YOLOX-Nano file that sits beside the shared data."""
    path = data_dir.parent / "models" / "yolox_nano.onnx"
    assert path.is_file(), f"{path} is missing although the shared data is there"
    return path


class Recorder:
    """Subscribes to everything under a prefix and keeps what arrives."""

    def __init__(self, url: str, prefix: str) -> None:
        target = parse_mqtt_url(url)
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        subscribed = threading.Event()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: subscribed.set()
        if target.username:
            self.client.username_pw_set(target.username, target.password)
        self.client.connect(target.host, target.port)
        self.client.loop_start()
        self.client.subscribe(f"{prefix}/#", qos=1)
        assert subscribed.wait(5)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, message.payload, bool(message.retain)))

    def topics(self, suffix: str) -> list[tuple[str, bytes]]:
        with self._lock:
            return [(t, p) for t, p, _ in self.messages if t.endswith(suffix) or f"/{suffix}/" in t]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def recorder(mqtt_url: str, prefix: str) -> Iterator[Recorder]:
    """Everything published under the test's prefix."""
    rec = Recorder(mqtt_url, prefix)
    yield rec
    for topic in {t for t, _, _ in rec.messages if t.endswith("/status")}:
        rec.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)  # leave no retained status
    rec.close()


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_clip_counts_arrive_as_envelopes_and_are_stored_by_ingest(
    sessions: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
    mqtt_url: str,
    prefix: str,
    recorder: Recorder,
    data_dir: Path,
    model: Path,
) -> None:
    with sessions() as session:
        site = seed_site(session)
    settings = make_test_settings(database_url, tmp_path).model_copy(
        update={"mqtt_url": mqtt_url, "mqtt_topic_prefix": prefix, "mqtt_client_id": prefix}
    )
    ingest = IngestLoop(settings, sessions=sessions)
    with ingesting(ingest):
        config = CameraConfig(
            camera=CAMERA,
            lines=(LineConfig.parse(f"entry:{ENTRY}"), LineConfig.parse(f"exit:{EXIT}")),
            plates=False,
        )
        publisher = Publisher(mqtt_url, CAMERA, prefix=prefix)
        assert publisher.start()
        source = FrameSource(str(data_dir / "count" / CLIP), realtime=False)
        pipeline = Pipeline(config, make_detector(model), frame_rate=10)
        stats = run_camera(source, pipeline, publisher, threading.Event(), analysis_fps=10, live_fps=2)
        publisher.stop()
        assert stats.analysed > 100

        def counted() -> bool:
            with sessions() as s:
                buckets = list(s.scalars(select(FlowBucket).where(FlowBucket.gate_id == site.gate_id)))
                return sum(b.camera_in + b.camera_out for b in buckets) >= 2

        wait_for(counted)

    envelopes = [json.loads(p) for _, p in recorder.topics("events")]
    for raw in envelopes:
        parsed = PlatformEnvelope.model_validate(raw)
        EVENT_PAYLOADS[parsed.type].model_validate(parsed.payload)
    crossings = sorted(
        (e["payload"]["line"], e["payload"]["direction"], e["payload"]["class"])
        for e in envelopes
        if e["type"] == "line_cross"
    )
    assert crossings == [("entry", "in", "person"), ("exit", "out", "person")]
    snapshots = {t.rsplit("/", 1)[1]: p for t, p in recorder.topics("snapshots")}
    for e in envelopes:
        if e["type"] == "line_cross":
            jpeg = snapshots[e["payload"]["snapshot"]]
            assert jpeg[:2] == b"\xff\xd8" and len(jpeg) <= 512 * 1024
    assert [e["seq"] for e in envelopes] == sorted(e["seq"] for e in envelopes)
    live = recorder.topics("live")
    assert live and all(p[:2] == b"\xff\xd8" for _, p in live)
    assert json.loads(recorder.topics("status")[0][1])["state"] == "online"
    # The offline status reaches the recording subscriber through the broker after the worker stopped.
    wait_for(lambda: json.loads(recorder.topics("status")[-1][1])["state"] == "offline", timeout=15)

    with sessions() as session:
        stored = list(session.scalars(select(DeviceEvent).where(DeviceEvent.device_id == CAMERA)))
        assert sorted(
            (e.payload["line"], e.payload["direction"]) for e in stored if e.type == "line_cross"
        ) == [
            ("entry", "in"),
            ("exit", "out"),
        ]
        assert all(e.gate_id == site.gate_id for e in stored)
        assert not list(session.scalars(select(DeadLetter)))
        # The gate-access pipeline turned the two crossings into the gate's camera flow.
        buckets = list(session.scalars(select(FlowBucket).where(FlowBucket.gate_id == site.gate_id)))
        assert (sum(b.camera_in for b in buckets), sum(b.camera_out for b in buckets)) == (1, 1)
        # Every count's evidence was stored before the count itself (published first, committed no later).
        kept = {s.snapshot_id: s for s in session.scalars(select(DeviceSnapshot))}
        for e in envelopes:
            if e["type"] == "line_cross":
                row = kept[e["payload"]["snapshot"]]
                assert row.gate_id == site.gate_id
                assert (settings.var_dir / row.path).read_bytes() == snapshots[row.snapshot_id]


def test_cli_worker_loops_a_file_and_stops_cleanly_on_sigterm(
    mqtt_url: str, prefix: str, recorder: Recorder, data_dir: Path, model: Path
) -> None:
    env = {
        **os.environ,
        "JIAYUAN_VISION_MODEL_PATH": str(model),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
    }
    command = [
        sys.executable, "-m", "jiayuan.cli.main", "vision", "run", "--camera", "gate-test-cam",
        "--source", str(data_dir / "count" / CLIP), "--loop", "--mqtt", mqtt_url, "--topic-prefix", prefix,
        "--line", f"entry:{ENTRY}", "--live-fps", "4",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: len(recorder.topics("live")) >= 2, timeout=90)
        assert [json.loads(p)["state"] for _, p in recorder.topics("status")][:1] == ["online"]
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, out.decode(errors="replace")
    assert "已停止" in out.decode()
    wait_for(lambda: json.loads(recorder.topics("status")[-1][1])["state"] == "offline", timeout=15)
