"""Events the ingest process commits reach the web app's live clients, once, through the broker."""

from __future__ import annotations

from collections import Counter

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.devices.protocol import Topics
from jiayuan.devices.service.pipeline import BatchOutcome
from jiayuan.ingest.supervisor import start_in_child_process
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Role
from jiayuan.settings import Settings
from jiayuan.web.app import create_app
from tests.devices.helpers import envelope
from tests.factories import make_user, seed_site, token_for

pytestmark = [pytest.mark.mqtt, pytest.mark.timeout(120)]


class StoredIds:
    """What the ingest process committed, reported back when it stops."""

    def __init__(self) -> None:
        self.event_ids: list[str] = []

    def __call__(self, outcome: BatchOutcome) -> None:
        self.event_ids.extend(a.envelope.id for a in outcome.accepted)

    def report(self) -> list[str]:
        return self.event_ids

    def receive(self, report: list[str]) -> None:
        self.event_ids = report


def test_a_plate_read_stored_by_the_ingest_process_is_pushed_once_to_live_clients(
    sessions: sessionmaker[Session], broker_settings: Settings, prefix: str, publisher: mqtt.Client
) -> None:
    with sessions() as session:
        site = seed_site(session)
    staff = make_user(sessions, "staff", Role.STAFF, scopes=[f"community:{site.community_id}"])
    token = token_for(sessions, staff)
    stored = StoredIds()
    ingest = start_in_child_process(broker_settings, observer=stored)
    try:
        with (
            TestClient(create_app(broker_settings)) as client,
            client.websocket_connect(f"/ws/v1/access?token={token}") as live,
        ):
            topic = Topics(prefix).events("jjhy-gate1-plate")
            plates = ["豫C66666", "豫C77777"]
            sent = [f"live-relay-{i}" for i in range(len(plates))]
            for plate, event_id in zip(plates, sent, strict=True):
                payload = {"plate": plate, "color": "blue", "confidence": 0.9, "direction": "in"}
                raw = envelope("jjhy-gate1-plate", "plate_read", payload, ts=utcnow(), id=event_id)
                publisher.publish(topic, raw, qos=1).wait_for_publish(5)
            seen: list[dict[str, object]] = []
            while len([m for m in seen if m["event"] == "access.vehicle_seen"]) < len(plates):
                seen.append(live.receive_json())
            # A sentinel through the web process's own bus: everything before it has arrived.
            client.post("/api/v1/devices/none/events", content=b"{}")
            vehicles = Counter(str(m["plate"]) for m in seen if m["event"] == "access.vehicle_seen")
            assert vehicles == Counter(plates)
            assert all(m["community_id"] == site.community_id for m in seen)
            assert "device.event" not in {m["event"] for m in seen}
    finally:
        ingest.stop()
    assert stored.event_ids == sent  # the observer's findings came back from the child process
