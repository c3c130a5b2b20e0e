"""`jiayuan serve` restarts a dead ingest child, and `/healthz` says so while it is down."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.devices.models import DeviceEvent
from jiayuan.devices.protocol import Topics
from jiayuan.kernel.clock import utcnow
from tests.devices.helpers import envelope
from tests.factories import seed_site

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


class Platform:
    """`jiayuan serve` in its own process group, as a service manager runs it."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jiayuan.cli.main", "serve", "--no-migrate", "--port", str(self.port)],
                env=env,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float) -> T:
        """Poll until `probe` returns something; fail with the platform's log otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            value = probe()
            if value is not None:
                return value
            time.sleep(0.1)
        pytest.fail(f"timed out waiting for {what}\n{self.output()}")

    def health(self, status: int | None = None) -> httpx.Response | None:
        """The health check's answer (None while the port is closed or the status is not `status`)."""
        try:
            response = httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
        except httpx.TransportError:
            return None
        return response if status is None or response.status_code == status else None

    def health_is(self, status: int, timeout: float) -> httpx.Response:
        return self.wait_for(f"/healthz to answer {status}", lambda: self.health(status), timeout)

    def stop(self, pid: int) -> int:
        """SIGTERM to `pid` (the platform, or its group with -pid); the platform's exit status."""
        if self.process.poll() is None:
            if pid > 0:
                os.kill(pid, signal.SIGTERM)
            else:
                os.killpg(-pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


@pytest.fixture
def platform_env(
    sessions: sessionmaker[Session], database_url: str, tmp_path: Path, mqtt_url: str, prefix: str
) -> dict[str, str]:
    """The environment of a platform on the test database and broker, with the demo site's devices."""
    with sessions() as session:
        seed_site(session)
    return {
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


def test_a_killed_ingest_child_is_reported_and_restarted_and_ingests_again(
    platform_env: dict[str, str],
    sessions: sessionmaker[Session],
    tmp_path: Path,
    prefix: str,
    publisher: mqtt.Client,
    forget_session: None,
) -> None:
    platform = Platform(platform_env, tmp_path / "serve.log")
    try:
        first = platform.health_is(200, 60)
        assert first.json()["ingest"]["state"] == "running"
        assert first.json()["ingest"]["restarts"] == 0
        [child] = ingest_children(platform.process.pid)

        os.kill(child, signal.SIGKILL)
        down = platform.health_is(503, 10)
        assert down.json()["status"] == "unavailable"
        ingest = down.json()["ingest"]
        assert ingest["state"] == "restarting"
        assert ingest["restarts"] == 1
        assert ingest["last_exit"] == "signal SIGKILL"
        assert "重启" in ingest["message"]
        assert not Path(f"/proc/{child}").exists(), "the dead child was not reaped"

        up = platform.health_is(200, 30)
        assert up.json()["ingest"]["state"] == "running"
        assert up.json()["ingest"]["restarts"] == 1
        assert up.json()["ingest"]["last_exit"] == "signal SIGKILL"
        [successor] = ingest_children(platform.process.pid)
        assert successor != child

        payload = {"uptime_s": 5, "fw": "1.0"}
        event = envelope("jjhy-gate1-qr", "heartbeat", payload, ts=utcnow(), id="after-restart")
        publisher.publish(Topics(prefix).events("jjhy-gate1-qr"), event, qos=1).wait_for_publish(5)

        def stored() -> bool | None:
            with sessions() as session:
                found = session.scalar(select(DeviceEvent.id).where(DeviceEvent.event_id == "after-restart"))
            return True if found else None

        platform.wait_for("the event published after the restart to be stored", stored, 20)
    finally:
        status = platform.stop(platform.process.pid)
    text = platform.output()
    assert "ingest process ended (signal SIGKILL)" in text
    assert status == 0, text
    assert "ingest process ended" not in text.split("signal SIGKILL", 1)[1], "restarted on shutdown"
    assert not Path(f"/proc/{successor}").exists(), "the ingest outlived the platform"


def test_sigterm_to_the_whole_group_stops_the_platform_in_order_without_a_restart(
    platform_env: dict[str, str], tmp_path: Path, forget_session: None
) -> None:
    platform = Platform(platform_env, tmp_path / "serve.log")
    try:
        platform.health_is(200, 60)
        [child] = ingest_children(platform.process.pid)
    finally:
        status = platform.stop(
            -platform.process.pid
        )  # what systemd sends by default (KillMode=control-group)
    assert status == 0, platform.output()
    assert "ingest process ended" not in platform.output()
    assert not Path(f"/proc/{child}").exists(), "the ingest outlived the platform"
