"""The worker's MQTT side: its status messages, the URL it prints and the URL it reads."""

from __future__ import annotations

import pytest

from jiayuan.broker_link import parse_mqtt_url
from jiayuan.devices.protocol import DeviceStatusMessage, HealthReason
from jiayuan.vision.publish import Publisher, redacted


def test_status_message_matches_the_platform_schema() -> None:
    publisher = Publisher("mqtt://127.0.0.1:1", "c1")
    online = DeviceStatusMessage.model_validate_json(publisher._status("online"))
    assert (online.state, online.health) == ("online", None)  # not judged before the worker ran
    slow = HealthReason(code="analysis_slow", text="近 30 秒每秒只分析了 3.0 帧，设定 5 帧（60%）")
    publisher.health([slow])
    degraded = DeviceStatusMessage.model_validate_json(publisher._status("online"))
    assert (degraded.health, degraded.reasons) == ("degraded", [slow])
    offline = DeviceStatusMessage.model_validate_json(publisher._status("offline"))
    assert (offline.state, offline.health, offline.reasons) == ("offline", None, [])
    publisher.health([])
    assert DeviceStatusMessage.model_validate_json(publisher._status("online")).health == "ok"
    publisher.status("offline")  # the source stopped sending frames
    publisher.health([slow])
    assert publisher.state == "offline"  # health never announces a camera without frames as online


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
