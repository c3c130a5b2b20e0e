"""A cancelled visitor pass reaches the gate readers at once, over their command topics."""

from __future__ import annotations

import json
import queue
from datetime import timedelta

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.access.models import VisitorPass
from jiayuan.devices.protocol import Topics
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Role
from jiayuan.settings import Settings
from jiayuan.web.app import create_app
from tests.factories import add_compound, add_person, make_user, seed_site, token_for

pytestmark = [pytest.mark.mqtt, pytest.mark.timeout(60)]


def test_cancelling_a_visitor_pass_sends_the_new_revocation_list_to_every_enabled_reader(
    sessions: sessionmaker[Session],
    broker_settings: Settings,
    prefix: str,
    publisher: mqtt.Client,
    vault: PiiVault,
) -> None:
    now = utcnow()
    phone = vault.encrypt("13800000000", context="visitor.phone")
    with sessions() as session:
        site = seed_site(session)
        household, _person = add_person(session, site.compound_id)
        add_compound(session, site.other_community_id, "远方小区", "yf", gate="远方1号门", qr=True)
        visitor = VisitorPass(
            household_id=household, compound_id=site.compound_id, community_id=site.community_id,
            name="李四", phone_cipher=phone, phone_tail="0000", valid_from=now - timedelta(hours=1),
            valid_until=now + timedelta(hours=3), entries_allowed=2,
        )  # fmt: skip
        session.add(visitor)
        session.commit()
        visitor_id = visitor.id
    staff = make_user(sessions, "staff", Role.STAFF, scopes=[f"community:{site.community_id}"])
    token = token_for(sessions, staff)
    received: queue.Queue[tuple[str, dict[str, object]]] = queue.Queue()
    publisher.on_message = lambda _c, _u, m: received.put((m.topic, json.loads(m.payload)))
    publisher.subscribe(Topics(prefix).commands("+"), qos=1)
    with TestClient(create_app(broker_settings)) as client:
        cancelled = client.post(
            f"/api/v1/visitors/{visitor_id}/cancel", headers={"Authorization": f"Bearer {token}"}
        )
        assert cancelled.status_code == 200, cancelled.text
        commands: dict[str, dict[str, object]] = {}
        while len(commands) < 3:
            topic, command = received.get(timeout=10)
            assert command["type"] == "revocations", command
            commands[topic.split("/")[-2]] = command
        # A second cancel is refused, and sends nothing.
        again = client.post(
            f"/api/v1/visitors/{visitor_id}/cancel", headers={"Authorization": f"Bearer {token}"}
        )
        assert again.status_code == 409
    assert set(commands) == {"jjhy-gate1-qr", "jjhy-gate2-qr", "yf-gate1-qr"}  # not the disabled reader
    for device_id, command in commands.items():
        assert command["device"] == device_id
        payload = command["payload"]
        assert isinstance(payload, dict)
        # Each reader learns only its own community's revocations.
        ours = device_id.startswith("jjhy-")
        assert (f"v:{visitor_id}" in payload["revoked"]) is ours
        assert payload["version"] >= (1 if ours else 0)
    with pytest.raises(queue.Empty):
        received.get(timeout=0.5)
