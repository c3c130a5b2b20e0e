"""A private Mosquitto per test, started from the shipped configuration (`jiayuan broker config`).

It never touches the shared test broker: its own free port, its own directory, torn down afterwards.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jiayuan.broker.config import AUTOSAVE_CHANGES, BrokerConfig, dynsec_plugin
from jiayuan.cli.main import app as cli
from jiayuan.ingest.embedded_broker import free_port
from jiayuan.settings import get_settings

PLATFORM_USER = "jiayuan-platform"
PLATFORM_PASSWORD = "platform-secret-for-tests"


class PrivateBroker:
    """A Mosquitto process on its own port and directory that a test may SIGKILL and start again."""

    def __init__(self, directory: Path, port: int, config: Path) -> None:
        self.directory = directory
        self.port = port
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{PLATFORM_USER}:{PLATFORM_PASSWORD}@127.0.0.1:{self.port}"

    def log(self) -> str:
        path = self.directory / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> None:
        """Start it and wait until it listens."""
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    pytest.fail(
                        f"Mosquitto did not start from the shipped configuration: {self.process.returncode}"
                    )
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: whatever it had not saved is gone, as in a crash or a power cut."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it does not stop within 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def render(directory: Path, port: int, plugin: str, *, autosave_changes: int = AUTOSAVE_CHANGES) -> Path:
    """The shipped configuration for this directory and port, as `jiayuan broker config` writes it."""
    config = BrokerConfig(
        var_dir=str(directory),
        port=port,
        plugin=plugin,
        max_packet_bytes=get_settings().mqtt_max_packet_bytes,
        autosave_changes=autosave_changes,
    )
    path = directory / "mosquitto.conf"
    path.write_text(config.render(), encoding="utf-8")
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
    plugin = dynsec_plugin()
    if shutil.which("mosquitto") is None or plugin is None:
        pytest.skip("mosquitto with its dynamic security plugin is not installed (make services installs it)")
    directory = tmp_path / "mosquitto"
    directory.mkdir()
    port = free_port()
    url = f"mqtt://{PLATFORM_USER}:{PLATFORM_PASSWORD}@127.0.0.1:{port}"
    broker_init(url, directory / "dynamic-security.json")
    broker = PrivateBroker(directory, port, render(directory, port, plugin))
    broker.start()
    yield broker
    broker.stop()
