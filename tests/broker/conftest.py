"""A private Mosquitto per test, started from the shipped configuration (deploy/mosquitto/mosquitto.conf).

It never touches the shared test broker: its own free port, its own directory, torn down afterwards.
"""

from __future__ import annotations

import getpass
import glob
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jiayuan.cli.main import app as cli
from jiayuan.ingest.embedded_broker import free_port
from jiayuan.settings import get_settings

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


def broker_init(url: str, file: Path) -> None:
    """`jiayuan broker init --file FILE` with JIAYUAN_MQTT_URL=url (the production bootstrap)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JIAYUAN_MQTT_URL", url)
        get_settings.cache_clear()
        result = CliRunner().invoke(cli, ["broker", "init", "--file", str(file)])
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[PrivateBroker]:
    """Mosquitto from the shipped configuration with `jiayuan broker init`'s plugin file."""
    plugin = _plugin()
    if shutil.which("mosquitto") is None or plugin is None:
        pytest.skip("mosquitto with its dynamic security plugin is not installed (make services installs it)")
    directory = tmp_path / "mosquitto"
    directory.mkdir()
    port = free_port()
    url = f"mqtt://{PLATFORM_USER}:{PLATFORM_PASSWORD}@127.0.0.1:{port}"
    broker_init(url, directory / "dynamic-security.json")
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
