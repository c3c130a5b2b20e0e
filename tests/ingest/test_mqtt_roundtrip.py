"""Device events published to the project's Mosquitto are stored once, and bad ones parked."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.bus import bus
from jiayuan.bus.events import DomainEvent
from jiayuan.devices.events import DeviceEventStored
from jiayuan.devices.models import DeadLetter, DeviceEvent, DeviceStatus
from jiayuan.devices.protocol import Topics
from jiayuan.ingest.runner import IngestLoop
from jiayuan.kernel.clock import utcnow
from jiayuan.settings import Settings
from tests.devices.helpers import envelope
from tests.factories import seed_site
from tests.ingest.running import ingesting

pytestmark = pytest.mark.mqtt
HB = {"uptime_s": 5, "fw": "1.0"}


def wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_events_flow_from_broker_to_database_and_bus(
    sessions: sessionmaker[Session], broker_settings: Settings, prefix: str, publisher: mqtt.Client
) -> None:
    with sessions() as session:
        seed_site(session)
    seen: list[DomainEvent] = []
    bus.subscribe(DeviceEventStored, seen.append)
    commands: list[dict[str, object]] = []
    publisher.on_message = lambda _c, _u, m: commands.append(json.loads(m.payload))
    publisher.subscribe(Topics(prefix).commands("jjhy-gate1-qr"), qos=1)
    loop = IngestLoop(broker_settings, sessions=sessions)
    with ingesting(loop):
        now = utcnow()
        topic = Topics(prefix).events("jjhy-gate1-qr")
        raws = [envelope("jjhy-gate1-qr", "heartbeat", HB, ts=now) for _ in range(50)]
        for raw in raws + raws[:10]:
            publisher.publish(topic, raw, qos=1).wait_for_publish(5)
        publisher.publish(topic, b"garbage", qos=1).wait_for_publish(5)
        late = envelope("jjhy-gate1-qr", "heartbeat", HB, ts=now + timedelta(hours=1))
        publisher.publish(Topics(prefix).events("jjhy-gate1-qr"), late, qos=1).wait_for_publish(5)
        publisher.publish(
            Topics(prefix).status("jjhy-gate1-qr"),
            b'{"v":1,"state":"online","ts":"%s"}' % now.isoformat().encode(),
            qos=1,
            retain=True,
        ).wait_for_publish(5)

        expected = {json.loads(r)["id"] for r in raws} | {json.loads(late)["id"]}

        def receipted() -> set[str]:
            return {i for c in commands if c["type"] == "delivered" for i in c["payload"]["ids"]}  # type: ignore[index]

        def done() -> bool:
            with sessions() as s:
                return (
                    (s.scalar(select(func.count()).select_from(DeadLetter)) or 0) >= 2
                    and (s.scalar(select(func.count()).select_from(DeviceEvent)) == 50)
                    and loop.stats.messages >= 63
                    and len([c for c in commands if c["type"] != "delivered"]) >= 2
                    and receipted() >= expected
                )

        wait_for(done)
    # Clear the retained status once the ingest has stopped (it would take the empty message as one).
    publisher.publish(Topics(prefix).status("jjhy-gate1-qr"), b"", qos=1, retain=True).wait_for_publish(5)
    with sessions() as session:
        status = session.get(DeviceStatus, "jjhy-gate1-qr")
        assert status is not None
        assert (status.events_accepted, status.duplicates, status.dead_letters, status.state) == (
            50,
            10,
            2,
            "online",
        )
        reasons = sorted(session.scalars(select(DeadLetter.reason)))
        assert reasons == ["bad_json", "clock"]
    # The reader came online, so it was sent what it needs to verify passes offline.
    assert {c["type"] for c in commands} == {"keys", "revocations", "delivered"}
    # Each committed event was receipted, the clock dead letter too: the reader may drop them all.
    assert receipted() == expected
    assert all(c["device"] == "jjhy-gate1-qr" for c in commands)
    assert len([e for e in seen if isinstance(e, DeviceEventStored) and e.device_id == "jjhy-gate1-qr"]) >= 50
