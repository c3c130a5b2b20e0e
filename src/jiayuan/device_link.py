"""A device's side of the MQTT link: what it publishes stays in an outbox until the platform's receipt.

The platform sends a `delivered` command (docs/devices.md) once the batch holding a message has
committed. Until then the message is kept here, so a broker that loses its queue (a SIGKILL, a power
cut: docs/brokers.md) loses nothing: after every reconnect the link sends again what the broker had
acknowledged but the platform never receipted, and anything left unreceipted for long is sent again
with a growing pause. The platform stores each `(device, id)` once, so a second copy changes nothing.
The simulator and the vision worker speak through this; a real device does the same in its firmware.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from jiayuan.devices.protocol import Delivered, Topics

log = logging.getLogger(__name__)

# (device id, "event" or "snapshot", id)
Key = tuple[str, str, str]


class Sent(Protocol):
    """What the MQTT client returns for a publish (paho's MQTTMessageInfo)."""

    def is_published(self) -> bool:
        """Whether the broker acknowledged it (PUBACK)."""
        ...


@dataclass
class _Entry:
    topic: str
    body: bytes
    sent: Sent | None
    due: float  # when to send it again if no receipt came
    pause: float


class Outbox:
    """Messages published and not yet receipted, oldest first (no network; safe across threads)."""

    def __init__(
        self, *, limit: int = 100_000, first_resend_s: float = 60.0, longest_resend_s: float = 3600.0
    ):
        self.limit = limit
        self.first_resend_s = first_resend_s
        self.longest_resend_s = longest_resend_s
        self.dropped = 0
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def add(self, key: Key, topic: str, body: bytes, sent: Sent | None, *, now: float) -> None:
        """Hold a message just published; beyond the limit the oldest is given up (and counted)."""
        with self._lock:
            self._entries[key] = _Entry(topic, body, sent, now + self.first_resend_s, self.first_resend_s)
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)
                self.dropped += 1
                if self.dropped % 1000 == 1:  # the first, then one line per thousand
                    log.warning("outbox full (%d): %d unreceipted given up", self.limit, self.dropped)

    def settle(self, device: str, receipt: Delivered) -> int:
        """Forget what the receipt names; how many were held."""
        keys = [(device, "event", i) for i in receipt.ids] + [
            (device, "snapshot", s) for s in receipt.snapshots
        ]
        with self._lock:
            return sum(self._entries.pop(key, None) is not None for key in keys)

    def acknowledged_by_broker(self) -> list[tuple[Key, str, bytes]]:
        """After a reconnect: what the broker had acknowledged (the client itself resends the rest)."""
        with self._lock:
            return [
                (key, e.topic, e.body)
                for key, e in self._entries.items()
                if e.sent is None or e.sent.is_published()
            ]

    def due(self, *, now: float) -> list[tuple[Key, str, bytes]]:
        """What has waited past its pause for a receipt; each pause doubles, up to the longest."""
        out = []
        with self._lock:
            for key, entry in self._entries.items():
                if entry.due <= now:
                    entry.pause = min(entry.pause * 2, self.longest_resend_s)
                    entry.due = now + entry.pause
                    out.append((key, entry.topic, entry.body))
        return out

    def resent(self, key: Key, sent: Sent) -> None:
        """Track the new publish of a held message."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.sent = sent


class DeviceLink:
    """Publish for one or more devices over one paho client and keep an outbox for them.

    Create it before the client connects (it sets the client's connect and message callbacks),
    then `start()`: it subscribes to the devices' commands topics on every connect.
    """

    def __init__(
        self,
        client: mqtt.Client,
        topics: Topics,
        *,
        devices: Iterable[str] | None = None,
        outbox: Outbox | None = None,
        on_connect: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.topics = topics
        self.outbox = outbox or Outbox()
        self._extra_on_connect = on_connect
        # None: every device's commands (a simulator signed in as the platform).
        self._filters = [topics.commands("+")] if devices is None else [topics.commands(d) for d in devices]
        self.subscribed = threading.Event()
        self._connects = 0
        self._stop = threading.Event()
        self._timer = threading.Thread(target=self._resend_loop, name="device-outbox", daemon=True)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message

    def start(self) -> None:
        """Start resending what waits too long (the caller starts the client's loop)."""
        self._timer.start()

    def stop(self) -> None:
        """Stop the resend timer (the outbox stays as it is)."""
        self._stop.set()

    def event(self, device: str, event_id: str, body: bytes) -> None:
        """Publish an event envelope (QoS 1) and hold it until receipted."""
        self._publish((device, "event", event_id), self.topics.events(device), body)

    def snapshot(self, device: str, snapshot_id: str, jpeg: bytes) -> None:
        """Publish an evidence JPEG (QoS 1) and hold it until receipted."""
        self._publish((device, "snapshot", snapshot_id), self.topics.snapshot(device, snapshot_id), jpeg)

    def _publish(self, key: Key, topic: str, body: bytes) -> None:
        sent = self.client.publish(topic, body, qos=1)
        self.outbox.add(key, topic, body, sent, now=time.monotonic())

    def _send_again(self, held: list[tuple[Key, str, bytes]]) -> None:
        for key, topic, body in held:
            self.outbox.resent(key, self.client.publish(topic, body, qos=1))

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, reason: Any, _p: object) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        self._connects += 1
        client.subscribe([(f, 1) for f in self._filters])
        if self._extra_on_connect is not None:
            self._extra_on_connect()
        if self._connects > 1:
            held = self.outbox.acknowledged_by_broker()
            if held:
                log.info("reconnected: sending %d unreceipted messages again", len(held))
            self._send_again(held)

    def _on_subscribe(self, *_args: object) -> None:
        self.subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            command = json.loads(message.payload)
            device, type, payload = command["device"], command["type"], command["payload"]
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable command on %s", message.topic)
            return
        if type != "delivered":  # the only command this link acts on
            return
        try:
            self.outbox.settle(device, Delivered.model_validate(payload))
        except ValidationError:
            log.warning("unreadable receipt on %s", message.topic)

    def _resend_loop(self) -> None:
        while not self._stop.wait(1.0):
            if self.client.is_connected():
                self._send_again(self.outbox.due(now=time.monotonic()))
