"""A broker crash with a backlog: N events queued for an offline ingest, SIGKILL, restart, drain.

Shared by tests/broker/test_broker_crash.py and bench/ingest/broker_crash.py. The devices publish
either through `DeviceLink` (an outbox kept until the platform's `delivered` receipt) or through a
plain QoS 1 client that trusts the broker's PUBACK.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.broker_link import parse_mqtt_url
from jiayuan.device_link import DeviceLink
from jiayuan.devices.models import DeviceEvent
from jiayuan.devices.protocol import Topics
from jiayuan.ingest.runner import IngestLoop
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.ids import new_event_id
from jiayuan.settings import Settings
from tests.broker.helpers import eventually
from tests.devices.helpers import envelope
from tests.ingest.running import ingesting

DEVICES = ("jjhy-gate1-qr", "jjhy-gate1-plate", "jjhy-gate1-cam", "jjhy-gate2-qr")


class Broker(Protocol):
    """A broker process a test can crash and bring back on the same port and storage."""

    def start(self) -> None: ...

    def kill(self) -> None: ...


@dataclass(frozen=True)
class CrashResult:
    """What reached the database of what the devices were told the broker had."""

    published: int
    stored: int
    publish_s: float
    drain_s: float

    @property
    def lost(self) -> int:
        return self.published - self.stored


def _client(url: str, name: str) -> mqtt.Client:
    target = parse_mqtt_url(url)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"{name}-{new_event_id()[-8:]}", protocol=mqtt.MQTTv311
    )
    if target.username:
        client.username_pw_set(target.username, target.password)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.reconnect_delay_set(min_delay=1, max_delay=2)
    return client


def _stored(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(DeviceEvent)) or 0


def run_ingest(
    settings: Settings, sessions: sessionmaker[Session], until: Callable[[], bool], timeout: float
) -> None:
    loop = IngestLoop(settings, sessions=sessions)
    with ingesting(loop, ready_within=15):
        eventually(until, timeout)


def crash_with_backlog(
    broker: Broker,
    url: str,
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    events: int,
    outbox: bool,
    drain_timeout: float = 120.0,
) -> CrashResult:
    """Subscribe the ingest, take it away, queue `events`, SIGKILL the broker, restart both, drain."""
    # The ingest's persistent session and subscriptions exist on the broker; then the ingest is away
    # (as during a database outage) and the backlog waits on the broker.
    run_ingest(settings, sessions, lambda: False, 0.5)
    client = _client(url, "crash-devices")
    link = DeviceLink(client, Topics(settings.mqtt_topic_prefix)) if outbox else None
    target = parse_mqtt_url(url)
    client.connect(target.host, target.port)
    client.loop_start()
    if link is not None:
        link.start()
        assert link.subscribed.wait(10), "the devices' link did not subscribe to its receipts"
    started = time.monotonic()
    now = utcnow()
    sent = []
    for n in range(events):
        device = DEVICES[n % len(DEVICES)]
        event_id = new_event_id()
        body = envelope(device, "heartbeat", {"uptime_s": n, "fw": "1.0"}, ts=now, id=event_id)
        if link is not None:
            link.event(device, event_id, body)
        else:
            sent.append(client.publish(Topics(settings.mqtt_topic_prefix).events(device), body, qos=1))
    if link is not None:
        acknowledged = lambda: len(link.outbox.acknowledged_by_broker()) == events  # noqa: E731
    else:
        acknowledged = lambda: all(info.is_published() for info in sent)  # noqa: E731
    assert eventually(acknowledged, 120), "the broker did not acknowledge every event"
    publish_s = time.monotonic() - started

    broker.kill()
    broker.start()
    started = time.monotonic()
    if link is not None:
        done = lambda: _stored(sessions) >= events and len(link.outbox) == 0  # noqa: E731
    else:
        done = _settled(sessions)
    run_ingest(settings, sessions, done, drain_timeout)
    drain_s = time.monotonic() - started
    if link is not None:
        link.stop()
    client.loop_stop()
    client.disconnect()
    return CrashResult(events, _stored(sessions), publish_s, drain_s)


def _settled(sessions: sessionmaker[Session], quiet_s: float = 3.0) -> Callable[[], bool]:
    """True once the stored count has not moved for `quiet_s` (what was lost will never come)."""
    last = [-1, time.monotonic()]

    def check() -> bool:
        count = _stored(sessions)
        if count != last[0]:
            last[0], last[1] = count, time.monotonic()
            return False
        return count > 0 and time.monotonic() - last[1] >= quiet_s

    return check
