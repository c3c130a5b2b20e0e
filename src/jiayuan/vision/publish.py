"""The worker's MQTT side (paho, MQTT 3.1.1): status with health and last will, events, snapshots, live."""

from __future__ import annotations

import logging
import threading
from typing import Any, Literal
from urllib.parse import urlparse

import paho.mqtt.client as mqtt

from jiayuan.broker_link import make_client, parse_mqtt_url
from jiayuan.device_link import DeviceLink
from jiayuan.devices.protocol import (
    SNAPSHOT_MAX_BYTES,
    EventType,
    HealthReason,
    Topics,
    event_body,
    status_body,
)
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.ids import new_event_id

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
        self.device = device
        self.topics = Topics(prefix)
        self._seq = 0
        self._lock = threading.Lock()
        # The worker's own judgement of its work, sent with every `online` (None: not judged yet).
        self._reasons: list[HealthReason] | None = None
        # What the camera's source says: offline while frames stop (health is news only when online).
        self.state: Literal["online", "offline"] = "online"
        self.connected = threading.Event()
        username = parse_mqtt_url(url).username or device
        # Signed in as the camera itself, the client id must be the device id (the broker binds them).
        client_id = device if username == device else f"vision-{device}-{new_event_id()[-8:]}"
        self._client = make_client(
            url, client_id=client_id, username=device, password=token, max_queued=10000
        )
        self._client.will_set(self.topics.status(device), self._status("offline"), qos=1, retain=True)
        # Events and snapshots stay in the link's outbox until the platform's receipt.
        self.link = DeviceLink(self._client, self.topics, devices=[device], on_connect=self._on_connect)
        self._client.on_disconnect = self._on_disconnect

    def _status(self, state: Literal["online", "offline"]) -> bytes:
        reasons = self._reasons
        if state == "offline" or reasons is None:
            return status_body(state, at=utcnow())
        return status_body(state, at=utcnow(), health="degraded" if reasons else "ok", reasons=reasons)

    def _on_connect(self) -> None:
        self._client.publish(self.topics.status(self.device), self._status(self.state), qos=1, retain=True)
        self.connected.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self.connected.clear()

    def start(self, timeout: float = 10.0) -> bool:
        """Connect in the background; whether the broker answered within the timeout."""
        self._client.loop_start()
        self.link.start()
        return self.connected.wait(timeout)

    def status(self, state: Literal["online", "offline"]) -> None:
        """Publish the camera's state (retained): offline when frames stop, online when they return."""
        self.state = state
        self._client.publish(self.topics.status(self.device), self._status(state), qos=1, retain=True)

    def health(self, reasons: list[HealthReason]) -> None:
        """Say the camera runs degraded for these reasons, or fully when there are none; while its
        source is offline they wait for the next `online`."""
        self._reasons = list(reasons)
        if self.state == "online":
            self.status("online")

    def event(self, event_type: EventType, payload: dict[str, Any]) -> str:
        """Publish one event envelope (QoS 1); returns its id. A payload the platform would refuse
        raises ValueError instead of being sent."""
        with self._lock:
            self._seq += 1
            event_id, body = event_body(self.device, event_type, payload, at=utcnow(), seq=self._seq)
        self.link.event(self.device, event_id, body)
        return event_id

    def snapshot(self, jpeg: bytes) -> str:
        """Publish an evidence JPEG (QoS 1); returns its snapshot id."""
        if len(jpeg) > SNAPSHOT_MAX_BYTES:
            raise ValueError(f"快照超过 512 KiB（{len(jpeg)} 字节）")
        snapshot_id = new_event_id()
        self.link.snapshot(self.device, snapshot_id, jpeg)
        return snapshot_id

    def live(self, jpeg: bytes) -> None:
        """Publish an annotated live frame (QoS 0: a late frame is worth nothing)."""
        self._client.publish(self.topics.live(self.device), jpeg, qos=0)

    def stop(self) -> None:
        """Say offline (retained), flush and disconnect."""
        info = self._client.publish(
            self.topics.status(self.device), self._status("offline"), qos=1, retain=True
        )
        if self.connected.is_set():
            info.wait_for_publish(timeout=5)
        self.link.stop()
        self._client.disconnect()
        self._client.loop_stop()
