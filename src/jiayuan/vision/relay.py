"""The live-view relay: keeps the latest annotated JPEG each camera worker publishes on its live topic.

Workers need no database and no web server: they publish a few frames a second over MQTT, and the
web app, which checks who may watch, relays the newest frame of a camera to browsers.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

from jiayuan.broker_link import background_client
from jiayuan.devices.protocol import Topics


@dataclass(frozen=True)
class LiveFrame:
    """One annotated frame: its JPEG bytes, a per-camera sequence number and when it arrived."""

    jpeg: bytes
    seq: int
    received: float


class LiveRelay:
    """Subscribes to every camera's live topic and keeps the newest frame of each."""

    def __init__(self, url: str, *, prefix: str = "jiayuan") -> None:
        self._filter = Topics(prefix).live_filter
        self._frames: dict[str, LiveFrame] = {}
        self._lock = threading.Lock()
        self.subscribed = threading.Event()
        self._client = background_client(url, name="live-relay")
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *args: self.subscribed.set()
        self._client.on_message = self._on_message
        self._client.loop_start()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if not reason.is_failure:
            client.subscribe(self._filter, qos=0)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        device = message.topic.split("/")[-2]
        payload = bytes(message.payload)
        if payload[:2] != b"\xff\xd8":
            return  # not a JPEG: nothing a browser could show
        with self._lock:
            previous = self._frames.get(device)
            self._frames[device] = LiveFrame(payload, (previous.seq + 1) if previous else 1, time.monotonic())

    def latest(self, device: str, *, max_age: float = 10.0) -> LiveFrame | None:
        """The camera's newest frame if it is fresh enough."""
        with self._lock:
            frame = self._frames.get(device)
        if frame is None or time.monotonic() - frame.received > max_age:
            return None
        return frame

    def close(self) -> None:
        """Stop listening."""
        self._client.disconnect()
        self._client.loop_stop()
