"""A private Mosquitto per test, started from the shipped configuration (`jiayuan broker config`).

It never touches the shared test broker: its own free port, its own directory, torn down afterwards.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jiayuan.broker.config import AUTOSAVE_CHANGES, BrokerConfig, dynsec_plugin
from jiayuan.cli.main import app as cli
from jiayuan.ingest.embedded_broker import free_port
from jiayuan.settings import get_settings
from tests.broker.processes import PLATFORM_PASSWORD, PLATFORM_USER, PrivateBroker


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
def mosquitto(real_commits: None, tmp_path: Path) -> Iterator[PrivateBroker]:
    """Mosquitto from the shipped configuration with `jiayuan broker init`'s plugin file (its clients
    work in threads and processes of their own: real commits)."""
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
