"""The gate simulator: deterministic by seed, and everything it publishes is accounted for by ingest."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.access.models import PassCheck, VehiclePassage
from jiayuan.access.pass_tokens import Signer
from jiayuan.cases.service import intake
from jiayuan.db.uow import unit_of_work
from jiayuan.devices.models import DeadLetter, DeviceEvent, DeviceSnapshot
from jiayuan.devices.protocol import Topics
from jiayuan.devices.service import snapshots
from jiayuan.devices.service.pipeline import Pipeline, RawMessage
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.ingest.runner import IngestLoop
from jiayuan.kernel.principal import Principal
from jiayuan.registry.models import Vehicle
from jiayuan.settings import Settings
from jiayuan.sim.runner import run
from jiayuan.sim.traffic import Message, SimGate, Traffic, snapshot_jpeg
from tests.factories import add_person, seed_site
from tests.ingest.running import ingesting

GATE = SimGate(
    id=1, compound_id=1, qr="g-qr", plate="g-plate", camera="g-cam", devices=("g-qr", "g-plate", "g-cam"),
    people=((10, 1), (11, 1), (12, 2)), plates=("豫A10000",), visitor_tokens=("JY1.x.y",),
)  # fmt: skip


START = datetime.fromisoformat("2026-11-27T07:30:00+08:00")


def ticks(traffic: Traffic, count: int = 300) -> list[Message]:
    return [m for i in range(count) for m in traffic.tick(START + timedelta(seconds=i))]


def without_ids(message: Message) -> tuple[str, str, object]:
    """What a message says apart from its event and snapshot ids."""
    if message.kind == "snapshot":
        return message.device, "snapshot", message.body
    try:
        body = json.loads(message.body)
    except ValueError:
        return message.device, message.kind, message.body
    body.pop("id", None)
    if isinstance(body.get("payload"), dict):
        body["payload"].pop("snapshot", None)
    return message.device, message.kind, body


def ids(messages: list[Message]) -> set[str]:
    """The event ids and snapshot ids among the messages."""
    found = {m.id for m in messages if m.kind == "snapshot" and m.id is not None}
    for message in messages:
        if message.kind == "events" and message.body.startswith(b"{") and message.body.endswith(b"}"):
            found.add(json.loads(message.body)["id"])
    return found


def test_same_seed_same_traffic_and_a_daily_curve() -> None:
    runs = [ticks(Traffic([GATE], Signer("s" * 20), seed=42)) for _ in range(2)]
    assert [without_ids(m) for m in runs[0]] == [without_ids(m) for m in runs[1]]
    kinds = b"".join(m.body for m in runs[0])
    for needle in (b"qr_scan", b"plate_read", b"line_cross", b'"yellow"'):
        assert needle in kinds
    assert (
        Traffic.curve(START) > 0.9 > 0.1 > Traffic.curve(datetime.fromisoformat("2026-11-27T03:00:00+08:00"))
    )
    assert Traffic.curve(datetime.fromisoformat("2026-11-27T18:15:00+08:00")) > 0.9


def test_two_runs_with_the_same_seed_use_disjoint_ids() -> None:
    first, second = (ticks(Traffic([GATE], Signer("s" * 20), seed=42)) for _ in range(2))
    assert len(ids(first)) > 200 and len(ids(second)) > 200
    assert not ids(first) & ids(second)


def test_every_plate_read_names_a_snapshot_stored_with_it(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions() as session:
        seed_site(session)
    gate = SimGate(
        id=1, compound_id=1, qr="jjhy-gate1-qr", plate="jjhy-gate1-plate", camera="jjhy-gate1-cam",
        devices=("jjhy-gate1-qr", "jjhy-gate1-plate", "jjhy-gate1-cam"), people=((10, 1),),
        plates=("豫A10000",),
    )  # fmt: skip
    messages = ticks(Traffic([gate], Signer("s" * 20), seed=7))
    pipeline, files, now = Pipeline(topics=Topics("t")), SnapshotFiles(tmp_path), START + timedelta(minutes=5)
    for start in range(0, len(messages), 50):  # batches the way the ingest commits them
        raws = [RawMessage("mqtt", m.topic(Topics("t")), m.body, now) for m in messages[start : start + 50]]
        with unit_of_work(sessions) as session:
            outcome = snapshots.accept_messages(
                session, actor=Principal.system(), messages=raws, pipeline=pipeline, files=files, now=now
            )
            intake.dispatch(session, outcome, public_keys={}, now=now)
    with sessions() as session:
        reads = session.scalars(select(DeviceEvent).where(DeviceEvent.type == "plate_read")).all()
        named = [(r.device_id, r.payload["snapshot"]) for r in reads]
        stored = session.execute(
            select(DeviceSnapshot.device_id, DeviceSnapshot.snapshot_id, DeviceSnapshot.path)
        )
        pictures = {(device, snapshot_id): files.read(path) for device, snapshot_id, path in stored}
        assert len(named) > 20 and len(set(named)) == len(named)  # one picture per read
        assert set(named) == set(pictures) and set(pictures.values()) == {snapshot_jpeg()}
        assert not session.scalars(select(DeadLetter).where(DeadLetter.reason == "bad_snapshot")).all()


@pytest.mark.mqtt
def test_simulated_traffic_is_all_accounted_for(
    sessions: sessionmaker[Session], broker_settings: Settings, prefix: str
) -> None:
    with sessions() as session:
        site = seed_site(session)
        for room in ("101", "102", "103"):
            household, person = add_person(session, site.compound_id, room=room)
        session.add(Vehicle(plate="豫A10345", color="blue", household_id=household, owner_id=person))
        session.commit()
    loop = IngestLoop(broker_settings, sessions=sessions)
    with ingesting(loop):
        stats = run(broker_settings, rate=60, duration=4, seed=3)
        deadline = time.monotonic() + 20
        while loop.stats.messages < stats.messages and time.monotonic() < deadline:
            time.sleep(0.1)
    assert loop.stats.messages == stats.messages
    with sessions() as session:
        events = session.scalar(select(func.count()).select_from(DeviceEvent)) or 0
        letters = session.scalar(select(func.count()).select_from(DeadLetter)) or 0
        assert events == loop.stats.accepted and letters == loop.stats.dead
        assert events + letters + loop.stats.duplicates <= stats.messages  # the rest are status messages
        reasons = set(session.scalars(select(PassCheck.reason)))
        assert "ok" in reasons
        assert session.scalar(select(func.count()).select_from(VehiclePassage))
