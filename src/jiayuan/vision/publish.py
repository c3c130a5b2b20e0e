"""The worker's MQTT side (paho, MQTT 3.1.1): status with last will, events, snapshots, live frames."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from jiayuan.broker_link import parse_mqtt_url
from jiayuan.device_link import DeviceLink
from jiayuan.devices.decode import Topics as DeviceTopics
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.ids import new_event_id
from jiayuan.vision.envelope import (
    MAX_ENVELOPE_BYTES,
    MAX_SNAPSHOT_BYTES,
    EventType,
    Topics,
    make_envelope,
    rfc3339,
)

log = logging.getLogger(__name__)


def redacted(url: str) -> str:
    """The URL as it may be printed: any password replaced by `***`."""
    parts = urlparse(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


class Publisher:
    """Publishes one camera's messages; paho reconnects on its own and queues QoS 1 meanwhile."""

    def __init__(self, url: str, device: str, *, prefix: str = "jiayuan", token: str | None = None) -> None:
        target = parse_mqtt_url(url)
        self.device = device
        self.topics = Topics(prefix, device)
        self._seq = 0
        self._lock = threading.Lock()
        self.connected = threading.Event()
        username = target.username or device
        # Signed in as the camera itself, the client id must be the device id (the broker binds them).
        client_id = device if username == device else f"vision-{device}-{new_event_id()[-8:]}"
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
        self._client.username_pw_set(username, token or target.password)
        if target.tls:
            self._client.tls_set()
        self._client.will_set(self.topics.status, self._status("offline"), qos=1, retain=True)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.max_queued_messages_set(10000)
        # Events and snapshots stay in the link's outbox until the platform's receipt.
        self.link = DeviceLink(
            self._client, DeviceTopics(prefix), devices=[device], on_connect=self._on_connect
        )
        self._client.on_disconnect = self._on_disconnect
        self._host, self._port = target.host, target.port

    @staticmethod
    def _status(state: str) -> str:
        return json.dumps({"v": 1, "state": state, "ts": rfc3339(utcnow())})

    def _on_connect(self) -> None:
        self._client.publish(self.topics.status, self._status("online"), qos=1, retain=True)
        self.connected.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self.connected.clear()

    def start(self, timeout: float = 10.0) -> bool:
        """Connect in the background; whether the broker answered within the timeout."""
        self._client.connect_async(self._host, self._port, keepalive=30)
        self._client.loop_start()
        self.link.start()
        return self.connected.wait(timeout)

    def status(self, state: str) -> None:
        """Publish the camera's state (retained): offline when frames stop, online when they return."""
        self._client.publish(self.topics.status, self._status(state), qos=1, retain=True)

    def event(self, event_type: EventType, payload: dict[str, Any]) -> str:
        """Publish one event envelope (QoS 1); returns its id."""
        with self._lock:
            self._seq += 1
            envelope = make_envelope(self.device, event_type, payload, seq=self._seq)
        body = envelope.model_dump_json().encode()
        if len(body) > MAX_ENVELOPE_BYTES:
            raise ValueError(f"事件过大（{len(body)} 字节）")
        self.link.event(self.device, envelope.id, body)
        return envelope.id

    def snapshot(self, jpeg: bytes) -> str:
        """Publish an evidence JPEG (QoS 1); returns its snapshot id."""
        if len(jpeg) > MAX_SNAPSHOT_BYTES:
            raise ValueError(f"快照超过 512 KiB（{len(jpeg)} 字节）")
        snapshot_id = new_event_id()
        self.link.snapshot(self.device, snapshot_id, jpeg)
        return snapshot_id

    def live(self, jpeg: bytes) -> None:
        """Publish an annotated live frame (QoS 0: a late frame is worth nothing)."""
        self._client.publish(self.topics.live, jpeg, qos=0)

    def stop(self) -> None:
        """Say offline (retained), flush and disconnect."""
        info = self._client.publish(self.topics.status, self._status("offline"), qos=1, retain=True)
        if self.connected.is_set():
            info.wait_for_publish(timeout=5)
        self.link.stop()
        self._client.disconnect()
        self._client.loop_stop()
