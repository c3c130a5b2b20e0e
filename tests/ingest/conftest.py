"""Ingest fixtures on the project's Mosquitto (`mqtt_url`, `prefix`: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from jiayuan.broker_link import parse_mqtt_url
from jiayuan.settings import Settings
from tests.conftest import make_test_settings


@pytest.fixture
def broker_settings(database_url: str, tmp_path: Path, mqtt_url: str, prefix: str) -> Settings:
    """Test settings on the test broker, under this test's prefix (the ingest client id too)."""
    return make_test_settings(database_url, tmp_path).model_copy(
        update={"mqtt_url": mqtt_url, "mqtt_topic_prefix": prefix, "mqtt_client_id": prefix}
    )


@pytest.fixture
def publisher(mqtt_url: str) -> Iterator[mqtt.Client]:
    """A connected QoS 1 publisher (MQTT 3.1.1)."""
    target = parse_mqtt_url(mqtt_url)
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    if target.username:
        client.username_pw_set(target.username, target.password)
    client.max_inflight_messages_set(0)
    client.connect(target.host, target.port)
    client.loop_start()
    yield client
    client.loop_stop()
    client.disconnect()


@pytest.fixture
def forget_session(mqtt_url: str, prefix: str) -> Iterator[None]:
    """Remove the ingest's persistent session from the shared broker afterwards."""
    yield
    target = parse_mqtt_url(mqtt_url)
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=prefix,
        clean_session=True,
        protocol=mqtt.MQTTv311,
    )
    if target.username:
        client.username_pw_set(target.username, target.password)
    client.connect(target.host, target.port)
    client.disconnect()
