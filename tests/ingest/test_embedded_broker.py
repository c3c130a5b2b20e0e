"""The demo's embedded broker carries events into the database like Mosquitto does."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.devices.models import DeviceEvent
from jiayuan.ingest.embedded_broker import EmbeddedBroker
from jiayuan.ingest.runner import IngestLoop
from jiayuan.kernel.clock import utcnow
from tests.conftest import make_test_settings
from tests.devices.helpers import envelope, seed_site


def test_embedded_broker_refuses_anonymous_and_delivers_to_ingest(
    sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    with sessions() as session:
        seed_site(session)
    broker = EmbeddedBroker().start()
    try:
        anonymous = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        refused = threading.Event()
        anonymous.on_connect = lambda *a: refused.set() if a[3].is_failure else None
        anonymous.connect("127.0.0.1", broker.port)
        anonymous.loop_start()
        assert refused.wait(5)
        anonymous.loop_stop()

        settings = make_test_settings(database_url, tmp_path).model_copy(
            update={"mqtt_url": broker.url, "mqtt_client_id": "ingest-embedded"}
        )
        loop = IngestLoop(settings, sessions=sessions)
        thread = threading.Thread(target=loop.run, daemon=True)
        thread.start()
        assert loop.connected.wait(10)
        time.sleep(0.3)
        device = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id="jjhy-gate1-qr",
            protocol=mqtt.MQTTv311,
        )
        device.username_pw_set("jjhy-gate1-qr", "token")
        device.connect("127.0.0.1", broker.port)
        device.loop_start()
        for _ in range(20):
            raw = envelope("jjhy-gate1-qr", "heartbeat", {"uptime_s": 1, "fw": "1"}, ts=utcnow())
            device.publish("jiayuan/v1/devices/jjhy-gate1-qr/events", raw, qos=1).wait_for_publish(5)
        deadline = time.monotonic() + 15
        count = 0
        while time.monotonic() < deadline:
            with sessions() as session:
                count = session.scalar(select(func.count()).select_from(DeviceEvent)) or 0
            if count == 20:
                break
            time.sleep(0.1)
        assert count == 20
        device.loop_stop()
        device.disconnect()
        loop.stop()
        thread.join(10)
    finally:
        broker.stop()
