"""Nothing lost, nothing doubled: N events while ingest is SIGKILLed and the database goes away."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.devices.models import DeadLetter, DeviceEvent, DeviceStatus
from jiayuan.devices.protocol import Topics
from jiayuan.kernel.clock import utcnow
from tests.devices.helpers import envelope
from tests.factories import seed_site
from tests.ingest.proxy import TcpProxy

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

N = 3000
DEVICES = ["jjhy-gate1-qr", "jjhy-gate1-plate", "jjhy-gate1-cam", "jjhy-gate2-qr"]
SRC = Path(__file__).resolve().parents[2] / "src"


def payload_for(device: str, rng: random.Random) -> tuple[str, dict[str, object]]:
    """A plausible event of the device's kind."""
    direction = rng.choice(["in", "out"])
    if device.endswith("plate"):
        return "plate_read", {
            "plate": f"豫A{rng.randint(10000, 99999)}",
            "color": "blue",
            "confidence": 0.9,
            "direction": direction,
        }
    if device.endswith("cam"):
        return "line_cross", {"line": "main", "class": "person", "direction": direction, "count": 1}
    return "heartbeat", {"uptime_s": rng.randint(1, 10**6), "fw": "1.0"}


class IngestProcess:
    """`jiayuan ingest` as a child process that can be killed without warning."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jiayuan.cli.main", "ingest"], env=self.env, stdout=out, stderr=out
            )

    def wait_subscribed(self, times: int, timeout: float = 60) -> None:
        """Wait until the log shows the `times`-th subscription (imports are slow on a busy machine)."""
        deadline = time.monotonic() + timeout
        while self.log.read_text(errors="replace").count("ingest connected") < times:
            assert time.monotonic() < deadline, "ingest did not subscribe in time"
            assert self.process is not None and self.process.poll() is None, self.log.read_text(
                errors="replace"
            )
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def test_nothing_lost_nothing_doubled(
    sessions: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
    mqtt_url: str,
    prefix: str,
    publisher: mqtt.Client,
    forget_session: None,
) -> None:
    with sessions() as session:
        seed_site(session)
    is_pg = database_url.startswith("postgres")
    proxy = None
    url = database_url
    if is_pg:
        proxy = TcpProxy(("127.0.0.1", 5432))
        proxy.restore()
        url = database_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "JIAYUAN_DATABASE_URL": url,
        "JIAYUAN_MQTT_URL": mqtt_url,
        "JIAYUAN_MQTT_TOPIC_PREFIX": prefix,
        "JIAYUAN_MQTT_CLIENT_ID": prefix,
        "JIAYUAN_ENV": "test",
        "JIAYUAN_VAR_DIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
    }
    ingest = IngestProcess(env, tmp_path / "ingest.log")
    ingest.start()
    ingest.wait_subscribed(1)  # from here on the broker keeps everything for the session

    rng = random.Random(7)
    events = []
    for i in range(N):
        device = DEVICES[i % len(DEVICES)]
        kind, payload = payload_for(device, rng)
        events.append((device, envelope(device, kind, payload, ts=utcnow())))
    resent = [events[i] for i in rng.sample(range(N), 150)]  # devices resending after a lost PUBACK
    bad = [
        ("jjhy-gate1-qr", b"{broken"),
        ("jjhy-gate2-qr", envelope("jjhy-gate1-qr", "heartbeat", {}, ts=utcnow())),
    ]
    stream = events + resent + bad
    rng.shuffle(stream)

    def disturb() -> None:
        time.sleep(3)
        ingest.kill()
        time.sleep(1)
        ingest.start()
        ingest.wait_subscribed(2)
        time.sleep(0.3)  # the queued backlog is flowing in: take the database away mid-batch
        if proxy is not None:
            proxy.cut()
            time.sleep(5)
            proxy.restore()
        else:
            locker = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=30)
            locker.execute("BEGIN EXCLUSIVE")
            time.sleep(5)
            locker.rollback()
            locker.close()

    disturber = threading.Thread(target=disturb)
    disturber.start()
    infos = []
    started = time.monotonic()
    for index, (device, raw) in enumerate(stream):
        infos.append(publisher.publish(Topics(prefix).events(device), raw, qos=1))
        # About 12 s of traffic, so the kill and the outage both land mid-stream.
        lag = started + index * 12 / len(stream) - time.monotonic()
        if lag > 0:
            time.sleep(lag)
    for info in infos:
        info.wait_for_publish(30)
    disturber.join()

    deadline = time.monotonic() + 40
    stored = 0
    while time.monotonic() < deadline:
        with sessions() as session:
            stored = session.scalar(select(func.count()).select_from(DeviceEvent)) or 0
            letters = session.scalar(select(func.count()).select_from(DeadLetter)) or 0
        if stored >= N and letters >= len(bad):
            break
        time.sleep(0.5)
    time.sleep(1.5)  # anything still in flight would show up now
    ingest.stop()
    if proxy is not None:
        proxy.cut()

    with sessions() as session:
        keys = set(session.execute(select(DeviceEvent.device_id, DeviceEvent.event_id)).all())
        assert session.scalar(select(func.count()).select_from(DeviceEvent)) == N
        assert len(keys) == N
        expected = {(d, raw.split(b'"id": "')[1].split(b'"')[0].decode()) for d, raw in events}
        assert keys == expected
        statuses = {s.device_id: s for s in session.scalars(select(DeviceStatus))}
        for device in DEVICES:
            per_device = session.scalar(
                select(func.count()).select_from(DeviceEvent).where(DeviceEvent.device_id == device)
            )
            assert statuses[device].events_accepted == per_device == N // len(DEVICES)
            letters_of = session.scalar(
                select(func.count()).select_from(DeadLetter).where(DeadLetter.device_id == device)
            )
            assert statuses[device].dead_letters == letters_of
        assert sum(s.duplicates for s in statuses.values()) >= len(resent)
        assert set(session.scalars(select(DeadLetter.reason))) == {"bad_json", "topic_mismatch"}
    log = (tmp_path / "ingest.log").read_text(errors="replace")
    if is_pg:
        assert "database unavailable" in log  # the outage really happened to the consumer
