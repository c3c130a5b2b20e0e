"""One size limit: what the protocol refuses reaches a dead letter, what the broker refuses is logged."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.cli.main import app as cli
from jiayuan.devices.models import DeadLetter
from jiayuan.devices.protocol import SNAPSHOT_MAX_BYTES, Topics
from jiayuan.settings import Settings, get_settings
from tests.broker.crash import run_ingest
from tests.broker.helpers import Probe, eventually
from tests.broker.processes import PrivateBroker
from tests.conftest import make_test_settings
from tests.factories import seed_site

pytestmark = pytest.mark.mqtt


def test_the_broker_config_takes_its_packet_limit_from_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIAYUAN_MQTT_MAX_PACKET_BYTES", str(600 * 1024))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli, ["broker", "config", "--dir", str(tmp_path), "--plugin", "/x/dynsec.so"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"max_packet_size {600 * 1024}\n" in result.output
    assert f"persistence_location {tmp_path.resolve()}/\n" in result.output
    assert "@" not in result.output.replace("mqtt://", "")  # every placeholder filled in


def test_a_limit_below_the_largest_snapshot_is_refused() -> None:
    with pytest.raises(ValueError, match="mqtt_max_packet_bytes"):
        Settings(mqtt_max_packet_bytes=SNAPSHOT_MAX_BYTES)


def test_oversize_messages_leave_a_trace_on_either_side_of_the_broker_limit(
    mosquitto: PrivateBroker, database_url: str, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        seed_site(session)
    settings = make_test_settings(database_url, tmp_path).model_copy(
        update={"mqtt_url": mosquitto.url, "mqtt_topic_prefix": "size", "mqtt_client_id": "size-ingest"}
    )
    run_ingest(settings, sessions, lambda: False, 0.5)  # its persistent session holds what comes next
    probe = Probe.platform(mosquitto.url)
    try:
        # Over the protocol's 16 KiB but within the broker's limit: the ingest parks it as too_large.
        probe.publish(Topics("size").events("jjhy-gate1-cam"), b"{" + b" " * (100 * 1024) + b"}")
        run_ingest(settings, sessions, lambda: _reasons(sessions) == ["too_large"], 20)
        # Over the broker's limit: refused before it reaches anyone, and the broker log names the client.
        probe.mqtt.publish(
            Topics("size").events("jjhy-gate1-cam"), b"x" * settings.mqtt_max_packet_bytes, qos=1
        )
        assert probe.disconnected.wait(10)
        client_id = probe.mqtt._client_id.decode()
        assert eventually(
            lambda: f"Client {client_id} disconnected due to oversize packet" in mosquitto.log()
        )
    finally:
        probe.close()
    assert _reasons(sessions) == ["too_large"]


def _reasons(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(DeadLetter.reason)))
