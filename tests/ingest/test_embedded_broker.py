"""The demo's embedded broker signs in the platform and devices as a production broker would."""

from __future__ import annotations

import gc
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.service.tokens import create_api_token, issue_api_token, revoke_api_token
from jiayuan.devices.models import DeviceEvent
from jiayuan.devices.protocol import Topics
from jiayuan.ingest.embedded_broker import EmbeddedBroker, free_port
from jiayuan.ingest.runner import IngestLoop
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.ids import new_event_id
from jiayuan.kernel.principal import Principal
from tests.conftest import make_test_settings
from tests.devices.helpers import envelope
from tests.factories import seed_site
from tests.ingest.running import ingesting

PREFIX = "jiayuan"


@dataclass(frozen=True)
class Tokens:
    """Device tokens issued for the tests."""

    gate1_qr: str
    gate2_qr: str
    disabled: str
    revoked: str


@pytest.fixture
def tokens(sessions: sessionmaker[Session]) -> Tokens:
    system = Principal.system()
    with sessions() as session:
        seed_site(session)
        issued = {
            device: issue_api_token(session, actor=system, device_id=device, name="t")
            for device in ("jjhy-gate1-qr", "jjhy-gate2-qr", "jjhy-old-qr")
        }
        revoked = create_api_token(session, actor=system, device_id="jjhy-gate1-door", name="t")
        revoke_api_token(session, actor=system, token_id=revoked.id)
        session.commit()
    return Tokens(issued["jjhy-gate1-qr"], issued["jjhy-gate2-qr"], issued["jjhy-old-qr"], revoked.token)


@pytest.fixture
def broker(database_url: str) -> Iterator[EmbeddedBroker]:
    running = EmbeddedBroker(database_url=database_url, prefix=PREFIX).start()
    yield running
    running.stop()


class Client:
    """A paho client (MQTT 3.1.1) that records the CONNACK and what it receives."""

    def __init__(
        self,
        port: int,
        username: str | None,
        password: str | None = None,
        *,
        will_topic: str | None = None,
        clean: bool = True,
        client_id: str | None = None,
    ) -> None:
        self.mqtt = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"t-{new_event_id()[-10:]}",
            clean_session=clean,
            protocol=mqtt.MQTTv311,
        )
        if username is not None:
            self.mqtt.username_pw_set(username, password)
        if will_topic is not None:
            self.mqtt.will_set(will_topic, b"offline", qos=1, retain=True)
        self.received: list[str] = []
        self.granted: list[ReasonCode] = []
        self._connack = threading.Event()
        self._subacks = threading.Event()
        self.reason: ReasonCode | None = None
        self.mqtt.on_connect = self._on_connect
        self.mqtt.on_message = lambda _c, _u, message: self.received.append(message.topic)
        self.mqtt.on_subscribe = self._on_subscribe
        self.mqtt.connect("127.0.0.1", port)
        self.mqtt.loop_start()
        assert self._connack.wait(10), "no CONNACK"

    def _on_connect(self, *args: object) -> None:
        reason = args[3]
        assert isinstance(reason, ReasonCode)
        self.reason = reason
        self._connack.set()

    def _on_subscribe(self, *args: object) -> None:
        codes = args[3]
        assert isinstance(codes, list)
        self.granted = codes
        self._subacks.set()

    @property
    def accepted(self) -> bool:
        return self.reason is not None and not self.reason.is_failure

    def subscribe(self, topic_filter: str) -> bool:
        """Subscribe at QoS 1; whether the broker granted it."""
        self._subacks.clear()
        self.mqtt.subscribe(topic_filter, qos=1)
        assert self._subacks.wait(5), "no SUBACK"
        return not self.granted[0].is_failure

    def publish(self, topic: str, payload: bytes = b"{}", *, retain: bool = False) -> None:
        self.mqtt.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.mqtt.loop_stop()
        self.mqtt.disconnect()


def topic(device: str, kind: str) -> str:
    return f"{PREFIX}/v1/devices/{device}/{kind}"


def test_platform_and_a_device_with_its_token_deliver_to_ingest(
    sessions: sessionmaker[Session], database_url: str, tmp_path: Path, tokens: Tokens, broker: EmbeddedBroker
) -> None:
    settings = make_test_settings(database_url, tmp_path).model_copy(
        update={"mqtt_url": broker.url, "mqtt_client_id": "ingest-embedded", "mqtt_topic_prefix": PREFIX}
    )
    loop = IngestLoop(settings, sessions=sessions)
    with ingesting(loop):
        device = Client(broker.port, "jjhy-gate1-qr", tokens.gate1_qr, client_id="jjhy-gate1-qr")
        assert device.accepted
        for _ in range(20):
            raw = envelope("jjhy-gate1-qr", "heartbeat", {"uptime_s": 1, "fw": "1"}, ts=utcnow())
            device.publish(topic("jjhy-gate1-qr", "events"), raw)
        deadline = time.monotonic() + 15
        count = 0
        while time.monotonic() < deadline:
            with sessions() as session:
                count = session.scalar(select(func.count()).select_from(DeviceEvent)) or 0
            if count == 20:
                break
            time.sleep(0.1)
        assert count == 20
        device.close()


def test_refused_sign_ins_are_logged_with_the_reason_and_no_secret(
    tokens: Tokens, broker: EmbeddedBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jiayuan.ingest.embedded_broker")
    attempts = {
        "没有用户名": (None, None),
        "平台服务口令错误": (broker.username, "not-the-password"),
        "令牌无效": ("jjhy-gate1-qr", "jyd_wrong-token"),
        "设备未登记": ("jjhy-nowhere-qr", tokens.gate1_qr),
        "设备已停用": ("jjhy-old-qr", tokens.disabled),
        "令牌已被吊销": ("jjhy-gate1-door", tokens.revoked),
        "令牌不属于该设备": ("jjhy-gate2-qr", tokens.gate1_qr),
    }
    for reason, (username, password) in attempts.items():
        client = Client(broker.port, username, password)
        client.close()
        assert not client.accepted, f"{username!r} was let in ({reason})"
        assert reason in caplog.text
    for secret in (tokens.gate1_qr, tokens.disabled, tokens.revoked, "not-the-password", "jyd_wrong-token"):
        assert secret not in caplog.text

    service = Client(broker.port, broker.username, broker.password)
    device = Client(broker.port, "jjhy-gate2-qr", tokens.gate2_qr)
    assert service.accepted and device.accepted
    service.close()
    device.close()


def test_a_device_uses_only_its_own_topics(tokens: Tokens, broker: EmbeddedBroker) -> None:
    service = Client(broker.port, broker.username, broker.password)
    assert service.subscribe(f"{PREFIX}/v1/devices/+/events")
    assert service.subscribe(f"{PREFIX}/v1/devices/+/status")
    service.publish(topic("jjhy-gate1-qr", "status"), b'{"state": "online"}', retain=True)

    device = Client(broker.port, "jjhy-gate2-qr", tokens.gate2_qr)
    assert device.accepted
    assert device.subscribe(topic("jjhy-gate2-qr", "commands"))
    assert not device.subscribe(topic("jjhy-gate1-qr", "commands"))
    assert not device.subscribe(f"{PREFIX}/v1/devices/+/events")
    assert not device.subscribe("#")

    device.publish(topic("jjhy-gate1-qr", "events"))  # another device's topic: dropped
    device.publish(topic("jjhy-gate2-qr", "commands"))  # its own commands topic is the platform's
    device.publish(topic("jjhy-gate2-qr", "events"))
    service.publish(topic("jjhy-gate2-qr", "commands"))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (service.received and device.received):
        time.sleep(0.05)
    time.sleep(0.3)
    assert [t for t in service.received if t.endswith("/events")] == [topic("jjhy-gate2-qr", "events")]
    # The command, and not the other device's retained status amqtt would otherwise hand out.
    assert device.received == [topic("jjhy-gate2-qr", "commands")]

    # A last will on another device's topic would bypass the publish rule: refused at CONNECT.
    impostor = Client(
        broker.port, "jjhy-gate2-qr", tokens.gate2_qr, will_topic=topic("jjhy-gate1-qr", "status")
    )
    assert not impostor.accepted
    impostor.close()
    device.close()
    service.close()


def test_shutdown_with_clients_still_connected_is_clean(
    tokens: Tokens, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    broker = EmbeddedBroker(database_url=database_url, prefix=PREFIX).start()
    ingest = Client(broker.port, broker.username, broker.password, clean=False, client_id="ingest-shutdown")
    ingest.subscribe(Topics(PREFIX).status_filter)
    device = Client(
        broker.port, "jjhy-gate1-qr", tokens.gate1_qr, will_topic=topic("jjhy-gate1-qr", "status")
    )
    device.publish(topic("jjhy-gate1-qr", "status"), b'{"state": "online"}', retain=True)
    # Clients that reconnect at once, as paho does, while the broker is going away.
    relays = [Client(broker.port, broker.username, broker.password) for _ in range(5)]
    for relay in relays:
        relay.mqtt.reconnect_delay_set(min_delay=0, max_delay=0)
        relay.subscribe(Topics(PREFIX).live_filter)
    started = time.monotonic()
    broker.stop()
    assert time.monotonic() - started < 5
    for client in (ingest, device, *relays):
        client.close()
    gc.collect()  # tasks the broker left pending complain only when collected
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert problems == []


def test_the_demo_port_is_kept_when_free_and_replaced_when_taken() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    busy = taken.getsockname()[1]
    try:
        other = free_port(busy)
        assert other != busy and other > 0
    finally:
        taken.close()
    assert free_port(busy) == busy  # free again once closed
