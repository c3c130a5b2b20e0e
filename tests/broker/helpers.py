"""An MQTT 3.1.1 test client that records its CONNACK, SUBACKs, messages and disconnection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from jiayuan.broker_link import parse_mqtt_url
from jiayuan.kernel.ids import new_event_id


class Probe:
    """Connects once (no reconnects) as `username` with client id `client_id`."""

    def __init__(
        self, port: int, username: str | None, password: str | None = None, *, client_id: str | None = None
    ) -> None:
        self.mqtt = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"probe-{new_event_id()[-10:]}",
            protocol=mqtt.MQTTv311,
            reconnect_on_failure=False,
        )
        if username is not None:
            self.mqtt.username_pw_set(username, password)
        self.received: list[tuple[str, bytes]] = []
        self.reason: ReasonCode | None = None
        self.granted: list[ReasonCode] = []
        self.disconnected = threading.Event()
        self._connack = threading.Event()
        self._suback = threading.Event()
        self.mqtt.on_connect = self._on_connect
        self.mqtt.on_subscribe = self._on_subscribe
        self.mqtt.on_disconnect = lambda *_a: self.disconnected.set()
        self.mqtt.on_message = lambda _c, _u, m: self.received.append((m.topic, bytes(m.payload)))
        self.mqtt.connect("127.0.0.1", port)
        self.mqtt.loop_start()
        assert self._connack.wait(10), "no CONNACK"

    @classmethod
    def platform(cls, url: str) -> Probe:
        target = parse_mqtt_url(url)
        return cls(target.port, target.username, target.password)

    def _on_connect(self, *args: object) -> None:
        reason = args[3]
        assert isinstance(reason, ReasonCode)
        self.reason = reason
        self._connack.set()

    def _on_subscribe(self, *args: object) -> None:
        codes = args[3]
        assert isinstance(codes, list)
        self.granted = codes
        self._suback.set()

    @property
    def accepted(self) -> bool:
        return self.reason is not None and not self.reason.is_failure

    def subscribe(self, topic_filter: str) -> bool:
        """Subscribe at QoS 1; whether the broker granted it."""
        self._suback.clear()
        self.mqtt.subscribe(topic_filter, qos=1)
        assert self._suback.wait(5), "no SUBACK"
        return not self.granted[0].is_failure

    def publish(self, topic: str, payload: bytes = b"{}") -> None:
        self.mqtt.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.mqtt.disconnect()
        self.mqtt.loop_stop()


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Whether `check` turns true within the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
