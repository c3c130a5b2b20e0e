"""Every event the worker publishes passes the platform's own protocol v1 schemas."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from jiayuan.broker_link import parse_mqtt_url
from jiayuan.devices.schemas import EVENT_PAYLOADS, DeviceStatusMessage
from jiayuan.devices.schemas import Envelope as PlatformEnvelope
from jiayuan.vision.envelope import Envelope, Topics, make_envelope
from jiayuan.vision.publish import Publisher, redacted

SAMPLES = {
    "line_cross": {
        "line": "gate",
        "class": "person",
        "direction": "in",
        "count": 1,
        "track_id": 3,
        "snapshot": None,
    },
    "occupancy": {"zone": "door", "class": "car", "count": 2},
    "plate_read": {
        "plate": "豫A12345",
        "color": "blue",
        "confidence": 0.91,
        "direction": "out",
        "track_id": 4,
    },
    "loitering": {
        "zone": "door",
        "class": "person",
        "seconds": 61.0,
        "track_id": 7,
        "snapshot": "01JDQ5V6Z8R2M3N4P5Q6R7S8T9",
    },
    "qr_scan": {"token": "JY1.a.b", "direction": "in", "local_decision": None, "local_reason": None},
    "heartbeat": {"uptime_s": 30, "fw": "jiayuan-vision/1", "queue": 0},
}


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_envelopes_match_the_platform_schema(event_type: str) -> None:
    envelope = make_envelope("gate-1-cam", event_type, SAMPLES[event_type], seq=5)  # type: ignore[arg-type]
    wire = json.loads(envelope.model_dump_json())
    parsed = PlatformEnvelope.model_validate(wire)
    EVENT_PAYLOADS[event_type].model_validate(parsed.payload)
    assert wire["ts"].endswith("+08:00") and len(wire["id"]) == 26


def test_envelope_refuses_unknown_types_and_fields() -> None:
    with pytest.raises(ValidationError):
        make_envelope("cam", "sos", {}, seq=1)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Envelope.model_validate(
            {
                "v": 1,
                "id": "x" * 26,
                "device": "cam",
                "type": "heartbeat",
                "ts": "t",
                "seq": 1,
                "payload": {},
                "extra": 1,
            }
        )


def test_topics_follow_the_prefix() -> None:
    topics = Topics("test-abc", "gate-1")
    assert topics.events == "test-abc/v1/devices/gate-1/events"
    assert topics.status == "test-abc/v1/devices/gate-1/status"
    assert topics.snapshot("S1") == "test-abc/v1/devices/gate-1/snapshots/S1"
    assert topics.live == "test-abc/v1/devices/gate-1/live"


def test_status_message_matches_the_platform_schema() -> None:
    DeviceStatusMessage.model_validate_json(Publisher._status("online"))


def test_printed_urls_hide_the_password() -> None:
    assert redacted("mqtt://jiayuan:s3cret@127.0.0.1:1883") == "mqtt://jiayuan:***@127.0.0.1:1883"
    assert redacted("mqtt://127.0.0.1:1883") == "mqtt://127.0.0.1:1883"


def test_mqtt_url_is_checked() -> None:
    target = parse_mqtt_url("mqtt://u:p%40ss@127.0.0.1:18831")
    assert (target.host, target.port, target.username, target.password, target.tls) == (
        "127.0.0.1", 18831, "u", "p@ss", False
    )  # fmt: skip
    assert parse_mqtt_url("mqtts://broker.example").port == 8883
    with pytest.raises(ValueError, match="MQTT"):
        parse_mqtt_url("http://127.0.0.1")
