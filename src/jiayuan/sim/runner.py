"""Publish simulated gate traffic for the demo community's gates over MQTT (QoS 1)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from jiayuan.access.pass_tokens import signer_for
from jiayuan.access.schemas import VisitorInvite
from jiayuan.access.service import visitors
from jiayuan.broker_link import make_client
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.device_link import DeviceLink
from jiayuan.devices.protocol import Topics
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory
from jiayuan.settings import Settings
from jiayuan.sim.traffic import Message, SimGate, Traffic

HEARTBEAT_EVERY_S = 30


@dataclass
class SimStats:
    """What was published."""

    messages: int = 0
    ticks: int = 0


def load_gates(session: Session, settings: Settings, *, visitors_per_gate: int = 3) -> list[SimGate]:
    """The registered gates with their QR, plate and camera devices, residents, plates and a few visitors."""
    signer = signer_for(settings.pass_signing_key.get_secret_value(), settings.pass_key_id)
    vault = PiiVault.from_secret(settings.pii_key.get_secret_value())
    devices = {d.id: d for d in directory.all_devices(session)}
    system = Principal.system()
    now = utcnow()
    gates = []
    for gate in directory.list_gates(session):
        kinds = {devices[d].kind: d for d in gate.device_ids if devices[d].enabled}
        people = directory.people_of_compound(session, gate.compound_id, limit=300)
        tokens = []
        for person_id, household_id in people[:visitors_per_gate]:
            del person_id
            visitor = visitors.invite_visitor(
                session,
                actor=system,
                vault=vault,
                invite=VisitorInvite(
                    household_id=household_id,
                    name="模拟访客",
                    phone="13800000000",
                    valid_from=now - timedelta(minutes=5),
                    valid_until=now + timedelta(hours=12),
                    entries=5,
                ),
            )
            tokens.append(
                visitors.visitor_token(session, actor=system, signer=signer, visitor_id=visitor.id).token
            )
        gates.append(
            SimGate(
                id=gate.id,
                compound_id=gate.compound_id,
                qr=_first(kinds, "qr_reader", "qr"),
                plate=_first(kinds, "plate_camera", "plate"),
                camera=_first(kinds, "camera_360", "cam"),
                devices=tuple(kinds.values()),
                people=tuple(people),
                plates=tuple(directory.plates_of_compound(session, gate.compound_id, limit=200)),
                visitor_tokens=tuple(tokens),
            )
        )
    return gates


def _first(kinds: dict[str, str], *names: str) -> str | None:
    return next((kinds[n] for n in names if n in kinds), None)


def connect(url: str, client_id: str, prefix: str) -> DeviceLink:
    """A connected link that speaks for every simulated device (the embedded broker wants a username)
    and holds what it publishes until the platform's receipt. Raises OSError when the broker is not
    there."""
    client = make_client(url, client_id=client_id, username="jiayuan-sim", reconnect_max_s=10, max_inflight=0)
    link = DeviceLink(client, Topics(prefix))
    client.reconnect()
    client.loop_start()
    link.start()
    link.subscribed.wait(10)
    return link


def run(
    settings: Settings,
    *,
    rate: float,
    duration: float | None,
    seed: int,
    stop: threading.Event | None = None,
    progress: Callable[[SimStats], None] | None = None,
) -> SimStats:
    """Publish `rate` happenings/s at peak (shaped by the daily curve) for `duration` s or until stopped."""
    if not settings.mqtt_url:
        raise ValueError("JIAYUAN_MQTT_URL is not set")
    if rate <= 0:
        raise ValueError("rate must be positive")
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            gates = load_gates(session, settings)
    finally:
        engine.dispose()
    if not gates:
        raise ValueError("no gates registered: load the demo data first (jiayuan seed demo)")
    signer = signer_for(settings.pass_signing_key.get_secret_value(), settings.pass_key_id)
    traffic = Traffic(gates, signer, seed=seed)
    prefix = settings.mqtt_topic_prefix
    # One client id per installation and seed (the broker keeps its session across a restart); the
    # topic prefix tells installations sharing a broker apart ("jiayuan-sim-3" for the default one).
    link = connect(settings.mqtt_url, f"{prefix}-sim-{seed}", prefix)
    client = link.client
    stop = stop or threading.Event()
    stats = SimStats()
    started = time.monotonic()
    last_heartbeat = -float(HEARTBEAT_EVERY_S)

    def publish(messages: list[Message]) -> None:
        for message in messages:
            if message.id is not None and message.kind == "events":
                link.event(message.device, message.id, message.body)
            elif message.id is not None and message.kind == "snapshot":
                link.snapshot(message.device, message.id, message.body)
            else:
                client.publish(message.topic(link.topics), message.body, qos=1, retain=message.retain)
            stats.messages += 1

    try:
        publish(traffic.online(utcnow()))
        next_at = time.monotonic()
        while not stop.is_set():
            elapsed = time.monotonic() - started
            if duration is not None and elapsed >= duration:
                break
            now = utcnow()
            if elapsed - last_heartbeat >= HEARTBEAT_EVERY_S:
                publish(traffic.heartbeats(now, int(elapsed)))
                last_heartbeat = elapsed
            publish(traffic.tick(now))
            stats.ticks += 1
            if progress is not None:
                progress(stats)
            # Poisson arrivals at the curve's rate.
            next_at += traffic.rng.expovariate(rate * traffic.curve(now))
            stop.wait(max(0.0, next_at - time.monotonic()))
    finally:
        link.stop()
        client.loop_stop()
        client.disconnect()
    return stats


def start_in_background(settings: Settings, *, rate: float = 5.0, seed: int = 1) -> Callable[[], None]:
    """Run the simulator in a daemon thread (for `jiayuan demo`); returns the stop function."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run, kwargs={"settings": settings, "rate": rate, "duration": None, "seed": seed, "stop": stop},
        name="jiayuan-sim", daemon=True,
    )  # fmt: skip
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=10)

    return halt
