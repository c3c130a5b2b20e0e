"""`jiayuan gates push-keys` sends every QR reader the keys and revocation list over its command topic."""

from __future__ import annotations

import json
import time

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.access.pass_tokens import unb64url
from jiayuan.devices.protocol import COMMAND_PAYLOADS, Envelope, Topics
from jiayuan.settings import Settings
from tests.factories import seed_site

pytestmark = pytest.mark.mqtt


def test_push_keys_reaches_every_reader(
    sessions: sessionmaker[Session],
    settings: Settings,
    mqtt_url: str,
    prefix: str,
    publisher: mqtt.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from jiayuan.cli.main import app
    from jiayuan.settings import get_settings

    with sessions() as session:
        seed_site(session)
    received: list[tuple[str, dict[str, object]]] = []
    publisher.on_message = lambda _c, _u, m: received.append((m.topic, json.loads(m.payload)))
    publisher.subscribe(Topics(prefix).commands("+"), qos=1)
    time.sleep(0.3)
    for name, value in {
        "JIAYUAN_DATABASE_URL": settings.database_url,
        "JIAYUAN_MQTT_URL": mqtt_url,
        "JIAYUAN_MQTT_TOPIC_PREFIX": prefix,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["gates", "push-keys"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    deadline = time.monotonic() + 10
    while len(received) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    # Two enabled readers (gate 1 and gate 2); the disabled one gets nothing.
    assert sorted((t.split("/")[-2], c["type"]) for t, c in received) == [
        ("jjhy-gate1-qr", "keys"), ("jjhy-gate1-qr", "revocations"),
        ("jjhy-gate2-qr", "keys"), ("jjhy-gate2-qr", "revocations"),
    ]  # fmt: skip
    for _, command in received:
        envelope = Envelope.model_validate(command)
        COMMAND_PAYLOADS[envelope.type].model_validate(envelope.payload)
        if envelope.type == "keys":
            assert len(unb64url(envelope.payload["keys"][0]["ed25519"])) == 32
