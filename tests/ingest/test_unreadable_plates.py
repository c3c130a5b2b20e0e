"""An unreadable plate travels from the plate camera through the project's Mosquitto and the ingest into
the 待辨认车牌 list, its snapshot beside it; one without a snapshot is a dead letter."""

from __future__ import annotations

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.access.models import UnreadPlate, VehiclePassage
from jiayuan.devices.models import DeadLetter, DeviceSnapshot
from jiayuan.devices.protocol import Topics
from jiayuan.ingest.runner import IngestLoop
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Role
from jiayuan.settings import Settings
from jiayuan.web.app import create_app
from tests.devices.helpers import envelope
from tests.devices.snapshot_helpers import jpeg
from tests.factories import bearer_for, seed_site
from tests.ingest.running import ingesting
from tests.ingest.test_mqtt_roundtrip import wait_for

pytestmark = pytest.mark.mqtt
CAM = "jjhy-gate1-plate"


def test_an_unreadable_plate_goes_from_the_camera_to_the_review_list(
    sessions: sessionmaker[Session], broker_settings: Settings, prefix: str, publisher: mqtt.Client
) -> None:
    with sessions() as session:
        site = seed_site(session)
    picture = jpeg(120)
    now = utcnow()
    events = [
        envelope(
            CAM, "plate_unreadable", {"snapshot": "car-1", "text": "欢迎光临", "direction": "in"}, ts=now
        ),
        # A camera that sends junk as a plate: kept for a person, not counted as a vehicle.
        envelope(
            CAM,
            "plate_read",
            {"plate": "停车场", "color": "blue", "confidence": 0.8, "direction": "out", "snapshot": "car-1"},
            ts=now,
        ),
        envelope(CAM, "plate_unreadable", {"text": "欢迎光临"}, ts=now),  # no picture for a person: refused
    ]
    loop = IngestLoop(broker_settings, sessions=sessions)
    with ingesting(loop):
        publisher.publish(Topics(prefix).snapshot(CAM, "car-1"), picture, qos=1).wait_for_publish(5)
        for raw in events:
            publisher.publish(Topics(prefix).events(CAM), raw, qos=1).wait_for_publish(5)

        def stored() -> bool:
            with sessions() as s:
                return s.scalar(select(func.count()).select_from(UnreadPlate)) == 2 and (
                    s.scalar(select(func.count()).select_from(DeadLetter)) == 1
                )

        wait_for(stored)

    with sessions() as session:
        rows = session.scalars(select(UnreadPlate).order_by(UnreadPlate.id)).all()
        assert [(r.event_type, r.text_raw, r.direction, r.state) for r in rows] == [
            ("plate_unreadable", "欢迎光临", "in", "waiting"),
            ("plate_read", "停车场", "out", "waiting"),
        ]
        assert all(
            (r.gate_id, r.compound_id, r.snapshot) == (site.gate_id, site.compound_id, "car-1") for r in rows
        )
        assert session.scalars(select(VehiclePassage)).all() == []
        letter = session.scalars(select(DeadLetter)).one()
        assert (letter.device_id, letter.reason) == (CAM, "bad_payload") and "snapshot" in letter.detail
        assert session.scalars(select(DeviceSnapshot.snapshot_id)).all() == ["car-1"]

    with TestClient(create_app(broker_settings)) as client:
        staff = bearer_for(sessions, "zhangwei", Role.STAFF, f"community:{site.community_id}")
        shown = client.get(f"/api/v1/devices/{CAM}/snapshots/car-1.jpg", headers=staff)
        assert shown.status_code == 200 and shown.content == picture
