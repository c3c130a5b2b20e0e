"""A private Mosquitto per test, started from the shipped configuration (deploy/mosquitto/mosquitto.conf).

It never touches the shared test broker: its own free port, its own directory, torn down afterwards.
"""

from __future__ import annotations

import getpass
import glob
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jiayuan.broker import dynsec
from jiayuan.ingest.embedded_broker import free_port

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"
PLATFORM_USER = "jiayuan-platform"
PLATFORM_PASSWORD = "platform-secret-for-tests"


@dataclass(frozen=True)
class PrivateBroker:
    """A running Mosquitto: where it listens and the platform account's URL."""

    port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"mqtt://{PLATFORM_USER}:{PLATFORM_PASSWORD}@127.0.0.1:{self.port}"

    def log(self) -> str:
        path = self.directory / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _plugin() -> str | None:
    found = glob.glob("/usr/lib/*/mosquitto_dynamic_security.so") + glob.glob(
        "/usr/lib/mosquitto_dynamic_security.so"
    )
    return found[0] if found else None


def render(directory: Path, port: int, plugin: str) -> Path:
    """The shipped configuration with its placeholders filled in, as scripts/services.sh does."""
    text = SHIPPED.read_text(encoding="utf-8")
    for key, value in {
        "VAR": str(directory),
        "PORT": str(port),
        "USER": getpass.getuser(),
        "DYNSEC_PLUGIN": plugin,
    }.items():
        text = text.replace(f"@{key}@", value)
    path = directory / "mosquitto.conf"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[PrivateBroker]:
    """Mosquitto from the shipped configuration with `jiayuan broker init`'s plugin file."""
    plugin = _plugin()
    if shutil.which("mosquitto") is None or plugin is None:
        pytest.skip("mosquitto with its dynamic security plugin is not installed (make services installs it)")
    directory = tmp_path / "mosquitto"
    directory.mkdir()
    port = free_port()
    config = dynsec.initial_config(username=PLATFORM_USER, password=PLATFORM_PASSWORD)
    (directory / "dynamic-security.json").write_text(json.dumps(config), encoding="utf-8")
    process = subprocess.Popen(
        ["mosquitto", "-c", str(render(directory, port, plugin))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"Mosquitto did not start from the shipped configuration: {process.returncode}")
            time.sleep(0.05)
    broker = PrivateBroker(port, directory)
    yield broker
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
