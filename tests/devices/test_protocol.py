"""The protocol module the simulator and the vision worker publish with is the one the platform decodes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pydantic import ValidationError

from jiayuan.devices.decode import Event, Limits, Status, decode, decode_event
from jiayuan.devices.models import DeviceEvent
from jiayuan.devices.protocol import EVENT_PAYLOADS, Topics, event_body, status_body
from jiayuan.kernel.clock import utcnow

SAMPLES = {
    "line_cross": {"line": "gate", "class": "person", "direction": "in", "count": 1, "track_id": 3},
    "occupancy": {"zone": "door", "class": "car", "count": 2},
    "plate_read": {
        "plate": "豫A12345",
        "color": "blue",
        "confidence": 0.91,
        "direction": "out",
        "track_id": 4,
    },
    "plate_unreadable": {"snapshot": "01JDQ5V6Z8R2M3N4P5Q6R7S8T9", "text": "欢迎光临", "direction": "in"},
    "loitering": {
        "zone": "door",
        "class": "person",
        "seconds": 61.0,
        "snapshot": "01JDQ5V6Z8R2M3N4P5Q6R7S8T9",
    },
    "qr_scan": {"token": "JY1.a.b", "direction": "in", "local_decision": None, "local_reason": None},
    "heartbeat": {"uptime_s": 30, "fw": "jiayuan-vision/1", "queue": 0},
    "sos": {"button": "b1", "pressed": "long"},
    "door": {"state": "opened", "by": "pass"},
    "command_ack": {"command_id": "01JDQ5V6Z8R2M3N4P5Q6R7S8T9", "ok": True},
}


def test_every_event_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(EVENT_PAYLOADS)


def test_every_event_type_fits_the_stored_type_column() -> None:
    # `plate_unreadable` fills it exactly: a longer type needs a migration widening device_events.type.
    assert max(len(name) for name in EVENT_PAYLOADS) <= DeviceEvent.__table__.c.type.type.length


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_what_a_device_publishes_the_platform_accepts(event_type: str) -> None:
    now = utcnow()
    event_id, body = event_body("gate-1-cam", event_type, SAMPLES[event_type], at=now, seq=5)  # type: ignore[arg-type]
    decoded = decode_event(body, now=now, limits=Limits(), topic_device="gate-1-cam")
    assert isinstance(decoded, Event), decoded
    assert decoded.envelope.id == event_id and decoded.envelope.seq == 5
    assert abs(decoded.envelope.ts - now) < timedelta(milliseconds=1)
    assert json.loads(body)["ts"].endswith("+08:00")


def test_a_payload_the_platform_would_refuse_is_never_built() -> None:
    with pytest.raises(ValidationError):
        event_body("cam", "heartbeat", {"uptime_s": -1, "fw": "1"}, at=utcnow())
    with pytest.raises(ValidationError):
        event_body("cam", "sos", {"button": "b1", "pressed": "long", "extra": 1}, at=utcnow())
    with pytest.raises(ValidationError):  # an unreadable plate without the picture a person reads
        event_body("cam", "plate_unreadable", {"text": "欢迎光临", "direction": "in"}, at=utcnow())
    with pytest.raises(ValidationError):  # a snapshot id names a file: never a path
        event_body("cam", "plate_unreadable", {"snapshot": "../etc/passwd"}, at=utcnow())
    with pytest.raises(KeyError):
        event_body("cam", "no_such_type", {}, at=utcnow())  # type: ignore[arg-type]


def test_status_messages_decode_as_status() -> None:
    topics = Topics("test-abc")
    now = utcnow()
    decoded = decode(
        topics.status("gate-1"), status_body("online", at=now), topics=topics, now=now, limits=Limits()
    )
    assert isinstance(decoded, Status) and decoded.message.state == "online"


def test_topics_follow_the_prefix() -> None:
    topics = Topics("test-abc")
    assert topics.events("gate-1") == "test-abc/v1/devices/gate-1/events"
    assert topics.status("gate-1") == "test-abc/v1/devices/gate-1/status"
    assert topics.snapshot("gate-1", "S1") == "test-abc/v1/devices/gate-1/snapshots/S1"
    assert topics.live("gate-1") == "test-abc/v1/devices/gate-1/live"
    assert topics.commands("gate-1") == "test-abc/v1/devices/gate-1/commands"
    assert topics.parse(topics.events("gate-1")) == ("gate-1", "events")
    assert topics.parse_snapshot(topics.snapshot("gate-1", "S1")) == ("gate-1", "S1")
    assert all(
        t.startswith(topics.device_root("gate-1")) for t in (topics.events("gate-1"), topics.live("gate-1"))
    )
