"""A gate device silent for more than 2 minutes raises `device_offline`; hearing from it clears it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.access.models import Alarm
from jiayuan.access.service import alarms as alarms_service
from jiayuan.cases.service import intake
from jiayuan.devices.models import DeviceStatus
from jiayuan.devices.protocol import Topics
from jiayuan.devices.service.pipeline import Pipeline, RawMessage, accept_batch, next_silence_due
from jiayuan.ingest import handlers
from jiayuan.kernel.principal import Principal, Role
from tests.devices.helpers import envelope
from tests.factories import seed_site

T0 = datetime.fromisoformat("2026-11-27T09:00:00+08:00")
PIPELINE = Pipeline(topics=Topics("t"))


def heartbeat(device: str, at: datetime) -> RawMessage:
    raw = envelope(device, "heartbeat", {"uptime_s": 1, "fw": "1"}, ts=at)
    return RawMessage("mqtt", PIPELINE.topics.events(device), raw, at)


def feed(sessions: sessionmaker[Session], messages: list[RawMessage], at: datetime) -> None:
    with sessions() as session:
        outcome = accept_batch(
            session, actor=Principal.system(), messages=messages, pipeline=PIPELINE, now=at
        )
        intake.dispatch(session, outcome, public_keys={}, now=at)
        session.commit()


def tick(sessions: sessionmaker[Session], at: datetime) -> None:
    with sessions() as session:
        handlers.every_second(session, now=at)
        session.commit()


def alarms(sessions: sessionmaker[Session]) -> list[Alarm]:
    with sessions() as session:
        return list(session.scalars(select(Alarm).order_by(Alarm.id)))


def test_silence_raises_once_and_return_clears(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        seed_site(session)
    feed(sessions, [heartbeat("jjhy-gate1-qr", T0), heartbeat("jjhy-gate2-qr", T0)], T0)
    with sessions() as session:
        assert next_silence_due(session) == T0 + timedelta(minutes=2)
    tick(sessions, T0 + timedelta(seconds=119))
    assert alarms(sessions) == []

    feed(sessions, [heartbeat("jjhy-gate2-qr", T0 + timedelta(seconds=90))], T0 + timedelta(seconds=90))
    tick(sessions, T0 + timedelta(seconds=121))
    tick(sessions, T0 + timedelta(seconds=150))  # still silent: no second alarm
    raised = alarms(sessions)
    assert [(a.type, a.device_id, a.state) for a in raised] == [("device_offline", "jjhy-gate1-qr", "open")]
    assert raised[0].gate_id is not None and raised[0].community_id is not None

    back = T0 + timedelta(minutes=5)
    feed(sessions, [heartbeat("jjhy-gate1-qr", back)], back)
    cleared = alarms(sessions)
    assert [(a.state, a.cleared_at) for a in cleared] == [("cleared", back)]
    with sessions() as session:
        status = session.get(DeviceStatus, "jjhy-gate1-qr")
        assert status is not None and not status.silent

    tick(sessions, back + timedelta(minutes=3))  # silent again: a new alarm
    assert [a.state for a in alarms(sessions)] == ["cleared", "open", "open"]  # gate2 fell silent too


def test_online_status_counts_as_heard_and_offline_does_not(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        seed_site(session)

    def status(state: str, at: datetime) -> RawMessage:
        body = json.dumps({"v": 1, "state": state, "ts": at.isoformat()}).encode()
        return RawMessage("mqtt", PIPELINE.topics.status("jjhy-gate1-qr"), body, at)

    feed(sessions, [status("online", T0)], T0)
    feed(sessions, [status("offline", T0 + timedelta(seconds=30))], T0 + timedelta(seconds=30))
    tick(sessions, T0 + timedelta(seconds=121))
    assert [a.device_id for a in alarms(sessions)] == ["jjhy-gate1-qr"]
    feed(sessions, [status("online", T0 + timedelta(minutes=4))], T0 + timedelta(minutes=4))
    assert [a.state for a in alarms(sessions)] == ["cleared"]


def test_alarms_are_listed_within_scope(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        site = seed_site(session)
    feed(sessions, [heartbeat("jjhy-gate1-qr", T0)], T0)
    tick(sessions, T0 + timedelta(minutes=3))
    with sessions() as session:
        staff = Principal(role=Role.STAFF, community_ids=frozenset({site.community_id}))
        other = Principal(role=Role.STAFF, community_ids=frozenset({site.other_community_id}))
        assert len(alarms_service.list_alarms(session, actor=staff, state="open")) == 1
        assert alarms_service.list_alarms(session, actor=other) == []
