"""Plate reads and line counts through the pipeline: vehicles, presence, watch list, flow, tailgating."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.access.models import Alarm, FlowBucket, VehiclePassage, VehiclePresence
from jiayuan.access.schemas import WatchPlateIn
from jiayuan.access.service import reports, vehicles
from jiayuan.cases.service import intake
from jiayuan.devices.protocol import Topics
from jiayuan.devices.service.pipeline import Pipeline, RawMessage, accept_batch
from jiayuan.kernel.errors import Forbidden, Invalid, NotFound
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import Vehicle
from tests.devices.helpers import envelope
from tests.factories import Site, add_person, seed_site

T0 = datetime.fromisoformat("2026-11-26T20:00:00+08:00")
PIPELINE = Pipeline(topics=Topics("t"))
SYSTEM = Principal.system()


def send(
    sessions: sessionmaker[Session], device: str, type: str, payload: dict[str, object], at: datetime
) -> None:
    raw = envelope(device, type, payload, ts=at)
    with sessions() as session:
        outcome = accept_batch(
            session,
            actor=SYSTEM,
            messages=[RawMessage("mqtt", PIPELINE.topics.events(device), raw, at)],
            pipeline=PIPELINE,
            now=at,
        )
        intake.dispatch(session, outcome, public_keys={}, now=at)
        session.commit()


def plate(
    sessions: sessionmaker[Session], text: str, direction: str, at: datetime, confidence: float = 0.95
) -> None:
    payload = {"plate": text, "color": "blue", "confidence": confidence, "direction": direction}
    send(sessions, "jjhy-gate1-plate", "plate_read", payload, at)


def setup(sessions: sessionmaker[Session]) -> Site:
    with sessions() as session:
        site = seed_site(session)
        household, person = add_person(session, site.compound_id)
        session.add(Vehicle(plate="豫A10345", color="blue", household_id=household, owner_id=person))
        session.commit()
    return site


def test_plates_are_classified_normalised_and_tracked(sessions: sessionmaker[Session]) -> None:
    site = setup(sessions)
    plate(sessions, "豫ａ·10345", "in", T0)  # resident, full-width and separator
    plate(sessions, "豫A1O345", "in", T0 + timedelta(minutes=1), confidence=0.5)  # O/0 confusion
    plate(sessions, "豫B88888", "in", T0 + timedelta(minutes=2))  # outside, stays overnight
    plate(sessions, "豫C66666", "in", T0 + timedelta(minutes=3))
    plate(sessions, "豫C66666", "out", T0 + timedelta(minutes=63))
    with sessions() as session:
        passages = {p.plate_raw: p for p in session.scalars(select(VehiclePassage))}
        assert passages["豫ａ·10345"].plate == "豫A10345" and passages["豫ａ·10345"].category == "resident"
        confused = passages["豫A1O345"]
        assert confused.plate == "豫A1O345"  # reported, not silently changed
        assert confused.category == "outside" and not confused.valid_format
        assert any("“O”可能是“0”" in n for n in confused.notes)
        assert any("豫A10345" in n for n in confused.notes)
        assert any("置信度低" in n for n in confused.notes)
        left = session.scalars(select(VehiclePresence).where(VehiclePresence.plate == "豫C66666")).one()
        assert left.dwell_s == 3600
        overnight = reports.overnight_outside(session, actor=SYSTEM, morning=T0 + timedelta(hours=11))
        assert {p.plate for p in overnight} == {"豫B88888", "豫A1O345"}
        assert all(p.dwell_s and p.dwell_s > 10 * 3600 for p in overnight)
        buckets = session.scalars(select(FlowBucket)).all()
        assert sum(b.vehicles_in for b in buckets) == 4
        assert sum(b.outside_in for b in buckets) == 3 and sum(b.outside_out for b in buckets) == 1
        flow = reports.compound_flow(
            session, actor=SYSTEM, compound_id=site.compound_id, since=T0 - timedelta(hours=1),
            now=T0 + timedelta(hours=2),
        )  # fmt: skip
        assert flow.outside_present == 2
        assert flow.totals.vehicles_in == 4


def test_watch_list_raises_alarms_for_exact_and_confusable_reads(sessions: sessionmaker[Session]) -> None:
    site = setup(sessions)
    police = Principal(role=Role.POLICE, community_ids=frozenset({site.community_id}))
    with sessions() as session:
        vehicles.add_watch_plate(
            session,
            actor=police,
            data=WatchPlateIn(community_id=site.community_id, plate="豫D12345", reason="协查"),
        )
        with pytest.raises(Invalid) as bad:
            vehicles.add_watch_plate(
                session,
                actor=police,
                data=WatchPlateIn(community_id=site.community_id, plate="XYZ", reason="协查"),
            )
        assert bad.value.field == "plate"
        resident = Principal(role=Role.RESIDENT, household_id=1)
        with pytest.raises(Forbidden):
            vehicles.add_watch_plate(
                session,
                actor=resident,
                data=WatchPlateIn(community_id=site.community_id, plate="豫D12345", reason="试试"),
            )
        session.commit()
    plate(sessions, "豫D12345", "in", T0)
    plate(sessions, "豫D1234S", "in", T0 + timedelta(minutes=1))  # not a confusion we model: no alarm
    plate(sessions, "豫DI2345", "in", T0 + timedelta(minutes=2))  # I/1: a suspected hit
    with sessions() as session:
        alarms = session.scalars(select(Alarm).order_by(Alarm.id)).all()
        assert [(a.type, a.evidence["exact"]) for a in alarms] == [
            ("watchlist_plate", True),
            ("watchlist_plate", False),
        ]
        assert alarms[0].device_id == "jjhy-gate1-plate"


def test_camera_far_above_scans_raises_tailgating_once(sessions: sessionmaker[Session]) -> None:
    site = setup(sessions)
    at = datetime.fromisoformat("2026-11-27T08:01:00+08:00")

    def cross(kind: str, count: int, second: int) -> None:
        payload = {"line": "main", "class": kind, "direction": "in", "count": count}
        send(sessions, "jjhy-gate1-cam", "line_cross", payload, at + timedelta(seconds=second))

    cross("person", 2, 0)
    cross("person", 2, 1)
    cross("car", 9, 2)  # vehicles are counted by the plate camera, not here
    with sessions() as session:
        assert session.scalars(select(Alarm)).all() == []  # 4 people, no scans: within the margin
    cross("person", 3, 10)
    cross("person", 3, 11)
    with sessions() as session:
        alarms = session.scalars(select(Alarm)).all()
        assert [a.type for a in alarms] == ["tailgating"]  # once per bucket
        assert alarms[0].evidence["camera_in"] == 7
        bucket = session.scalars(select(FlowBucket)).one()
        assert (bucket.camera_in, bucket.people_in) == (10, 0)
        flow = reports.gate_flow(session, actor=SYSTEM, gate_id=site.gate_id, since=at - timedelta(hours=1),
                                 now=at + timedelta(minutes=5))  # fmt: skip
        assert flow.totals.camera_in == 10 and len(flow.buckets) == 1
        summary = reports.daily_summary(session, actor=SYSTEM, compound_id=site.compound_id, day="2026-11-27")
        assert summary.alarms == {"tailgating": 1} and summary.peak_in == 10


def test_flow_queries_refuse_bad_ranges_and_strangers(sessions: sessionmaker[Session]) -> None:
    site = setup(sessions)
    now = datetime.fromisoformat("2026-11-27T08:00:00+08:00")
    with sessions() as session:
        for since in (now + timedelta(hours=1), now - timedelta(days=8)):
            with pytest.raises(Invalid) as bad:
                reports.gate_flow(session, actor=SYSTEM, gate_id=site.gate_id, since=since, now=now)
            assert bad.value.field == "since"
        stranger = Principal(role=Role.STAFF, community_ids=frozenset({site.other_community_id}))
        with pytest.raises(NotFound):
            reports.gate_flow(session, actor=stranger, gate_id=site.gate_id, now=now)
        with pytest.raises(Invalid) as bad_day:
            reports.daily_summary(session, actor=SYSTEM, compound_id=site.compound_id, day="2026-13-40")
        assert bad_day.value.field == "day"
