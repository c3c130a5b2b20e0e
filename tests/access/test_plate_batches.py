"""Plate reads handled a batch at a time: same results as one by one, a fixed number of statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.access.models import Alarm, FlowBucket, VehiclePassage, VehiclePresence, VisitorPass, WatchPlate
from jiayuan.cases.service import intake
from jiayuan.devices.protocol import Topics
from jiayuan.devices.service.pipeline import Pipeline, RawMessage, accept_batch
from jiayuan.kernel.principal import Principal
from jiayuan.registry.models import Vehicle
from tests.devices.helpers import envelope
from tests.factories import Site, add_person, seed_site

T0 = datetime.fromisoformat("2026-11-26T20:00:00+08:00")
PIPELINE = Pipeline(topics=Topics("t"))
DEVICE = "jjhy-gate1-plate"


def read(text: str, direction: str, at: datetime) -> RawMessage:
    payload = {"plate": text, "color": "blue", "confidence": 0.95, "direction": direction}
    raw = envelope(DEVICE, "plate_read", payload, ts=at)
    return RawMessage("mqtt", PIPELINE.topics.events(DEVICE), raw, at)


def handle(sessions: sessionmaker[Session], messages: list[RawMessage], now: datetime) -> None:
    with sessions() as session:
        system = Principal.system()
        outcome = accept_batch(session, actor=system, messages=messages, pipeline=PIPELINE, now=now)
        intake.dispatch(session, outcome, public_keys={}, now=now)
        session.commit()


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def setup(sessions: sessionmaker[Session]) -> Site:
    with sessions() as session:
        site = seed_site(session)
        household, person = add_person(session, site.compound_id)
        session.add(Vehicle(plate="豫A10345", color="blue", household_id=household, owner_id=person))
        session.add(
            VisitorPass(
                household_id=household, compound_id=site.compound_id, community_id=site.community_id,
                name="李四", phone_cipher="x", phone_tail="0000", plate="豫E55555",
                valid_from=T0 - timedelta(hours=1), valid_until=T0 + timedelta(hours=1), entries_allowed=2,
            )
        )  # fmt: skip
        session.add(WatchPlate(community_id=site.community_id, plate="豫D12345", reason="协查"))
        session.commit()
    return site


def test_one_batch_classifies_tracks_and_alarms_in_order(sessions: sessionmaker[Session]) -> None:
    setup(sessions)
    minute = timedelta(minutes=1)
    handle(sessions, [read("豫B00001", "in", T0 - minute)], T0)  # stays open from an earlier batch
    batch = [
        read("豫A10345", "in", T0),  # resident
        read("豫E55555", "in", T0 + minute),  # visitor inside the pass window
        read("豫C66666", "in", T0 + 2 * minute),
        read("豫C66666", "in", T0 + 3 * minute),  # a second entry read while inside: no second presence
        read("豫C66666", "out", T0 + 63 * minute),  # closes the presence opened in this very batch
        read("豫B00001", "out", T0 + 30 * minute),  # closes the presence of the earlier batch
        read("豫F77777", "out", T0 + 4 * minute),  # exit without a recorded entry
        read("豫DI2345", "in", T0 + 5 * minute),  # watch list, I/1 confusion
        read("豫E55555", "in", T0 + 3 * timedelta(hours=1)),  # same visitor plate after the window
    ]
    handle(sessions, batch, T0 + timedelta(hours=4))
    with sessions() as session:
        passages = session.scalars(select(VehiclePassage).order_by(VehiclePassage.at)).all()
        assert [(p.plate, p.category) for p in passages] == [
            ("豫B00001", "outside"),
            ("豫A10345", "resident"),
            ("豫E55555", "visitor"),
            ("豫C66666", "outside"),
            ("豫C66666", "outside"),
            ("豫F77777", "outside"),
            ("豫DI2345", "outside"),
            ("豫B00001", "outside"),
            ("豫C66666", "outside"),
            ("豫E55555", "outside"),
        ]
        presence = {p.plate: p for p in session.scalars(select(VehiclePresence))}
        assert session.query(VehiclePresence).filter_by(plate="豫C66666").count() == 1
        assert presence["豫C66666"].dwell_s == 61 * 60
        assert presence["豫B00001"].dwell_s == 31 * 60 and presence["豫B00001"].left_gate_id is not None
        assert presence["豫F77777"].entered_at is None and presence["豫F77777"].left_at is not None
        assert presence["豫A10345"].left_at is None
        alarm = session.scalars(select(Alarm)).one()
        assert alarm.type == "watchlist_plate" and alarm.evidence["exact"] is False
        flagged = session.get_one(VehiclePassage, alarm.evidence["passage_id"])
        assert flagged.plate == "豫DI2345"
        buckets = session.scalars(select(FlowBucket)).all()
        assert sum(b.vehicles_in for b in buckets) == 7 and sum(b.vehicles_out for b in buckets) == 3
        assert sum(b.outside_in for b in buckets) == 5 and sum(b.outside_out for b in buckets) == 3


def test_statements_per_batch_do_not_grow_with_its_size(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    setup(sessions)

    def batch(start: int, size: int) -> list[RawMessage]:
        return [read(f"豫B{i:05d}", "in" if i % 2 else "out", T0) for i in range(start, start + size)]

    with counting(engine) as small:
        handle(sessions, batch(0, 20), T0)
    with counting(engine) as large:
        handle(sessions, batch(1000, 400), T0)
    assert len(large) == len(small) <= 20, large
