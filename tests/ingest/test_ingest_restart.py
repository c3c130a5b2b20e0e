"""`jiayuan serve` restarts a dead ingest child, and `/healthz` says so while it is down."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.broker_link import parse_mqtt_url
from jiayuan.devices.models import DeviceEvent
from jiayuan.kernel.clock import utcnow
from tests.devices.helpers import envelope, seed_site

pytestmark = [pytest.mark.mqtt, pytest.mark.timeout(90)]

SRC = Path(__file__).resolve().parents[2] / "src"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ingest_children(pid: int) -> list[int]:
    """The spawned ingest processes of `pid` (not multiprocessing's resource tracker)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                found.append(int(child))
    return found


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, log: Path) -> T:
    """Poll until `probe` returns something; fail with the platform's log otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value is not None:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}\n{log.read_text(errors='replace')}")


@pytest.fixture
def forget_session(mqtt_url: str, prefix: str) -> Iterator[None]:
    """Remove the ingest's persistent session from the shared broker afterwards."""
    yield
    target = parse_mqtt_url(mqtt_url)
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=prefix,
        clean_session=True,
        protocol=mqtt.MQTTv311,
    )
    if target.username:
        client.username_pw_set(target.username, target.password)
    client.connect(target.host, target.port)
    client.disconnect()


def test_a_killed_ingest_child_is_reported_and_restarted_and_ingests_again(
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
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "JIAYUAN_DATABASE_URL": database_url,
        "JIAYUAN_MQTT_URL": mqtt_url,
        "JIAYUAN_MQTT_TOPIC_PREFIX": prefix,
        "JIAYUAN_MQTT_CLIENT_ID": prefix,
        "JIAYUAN_ENV": "test",
        "JIAYUAN_VAR_DIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "-m", "jiayuan.cli.main", "serve", "--no-migrate", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=out,
        )
    health_url = f"http://127.0.0.1:{port}/healthz"

    def health() -> httpx.Response | None:
        assert serve.poll() is None, log.read_text(errors="replace")
        try:
            return httpx.get(health_url, timeout=2)
        except httpx.TransportError:
            return None

    def health_where(check: Callable[[httpx.Response], bool]) -> Callable[[], httpx.Response | None]:
        def probe() -> httpx.Response | None:
            response = health()
            return response if response is not None and check(response) else None

        return probe

    try:
        first = wait_for("the platform to answer", health, 60, log)
        assert first.status_code == 200
        assert first.json()["ingest"]["state"] == "running"
        assert first.json()["ingest"]["restarts"] == 0
        [child] = ingest_children(serve.pid)

        os.kill(child, signal.SIGKILL)
        down = wait_for(
            "/healthz to report the dead ingest", health_where(lambda r: r.status_code == 503), 10, log
        )
        assert down.json()["status"] == "unavailable"
        ingest = down.json()["ingest"]
        assert ingest["state"] == "restarting"
        assert ingest["restarts"] == 1
        assert ingest["last_exit"] == "signal SIGKILL"
        assert "重启" in ingest["message"]
        assert not Path(f"/proc/{child}").exists(), "the dead child was not reaped"

        up = wait_for("the restarted ingest", health_where(lambda r: r.status_code == 200), 30, log)
        assert up.json()["ingest"]["state"] == "running"
        assert up.json()["ingest"]["restarts"] == 1
        assert up.json()["ingest"]["last_exit"] == "signal SIGKILL"
        [successor] = ingest_children(serve.pid)
        assert successor != child

        event = envelope(
            "jjhy-gate1-qr", "heartbeat", {"uptime_s": 5, "fw": "1.0"}, ts=utcnow(), id="after-restart"
        )
        publisher.publish(f"{prefix}/v1/devices/jjhy-gate1-qr/events", event, qos=1).wait_for_publish(5)

        def stored() -> bool | None:
            with sessions() as session:
                found = session.scalar(
                    select(DeviceEvent.event_id).where(DeviceEvent.event_id == "after-restart")
                )
            return True if found else None

        wait_for("the event published after the restart to be stored", stored, 20, log)
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
    text = log.read_text(errors="replace")
    assert "ingest process ended (signal SIGKILL)" in text
    assert serve.returncode == 0, text
    assert "ingest process ended" not in text.split("signal SIGKILL", 1)[1], "restarted on shutdown"
    assert not Path(f"/proc/{successor}").exists(), "the ingest outlived the platform"
