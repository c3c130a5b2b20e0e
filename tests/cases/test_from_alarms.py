"""Every alarm the gates raise opens a case in the same transaction, with where it came from and its
evidence, once per alarm however often the batch is handled."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.access.models import Alarm
from jiayuan.cases.models import Case
from jiayuan.cases.schemas import AlarmCase
from jiayuan.cases.service import intake, reads, reporting
from jiayuan.devices.models import DeviceSnapshot
from jiayuan.devices.protocol import Topics
from jiayuan.devices.service.pipeline import Pipeline, RawMessage, accept_batch
from jiayuan.ingest import handlers
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Forbidden
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal, Role
from tests.devices.helpers import envelope
from tests.factories import Site, device_token, seed_site

T0 = datetime.fromisoformat("2026-12-05T21:00:00+08:00")
PIPELINE = Pipeline(topics=Topics("t"))


def feed(
    sessions: sessionmaker[Session], device: str, type: str, payload: dict[str, object], at: datetime
) -> None:
    message = RawMessage("mqtt", PIPELINE.topics.events(device), envelope(device, type, payload, ts=at), at)
    with sessions() as session:
        outcome = accept_batch(
            session, actor=Principal.system(), messages=[message], pipeline=PIPELINE, now=at
        )
        intake.dispatch(session, outcome, public_keys={}, now=at)
        intake.open_cases(session)  # asked again in the same transaction: still one case per alarm
        session.commit()


def cases(sessions: sessionmaker[Session]) -> list[Case]:
    with sessions() as session:
        return list(session.scalars(select(Case).order_by(Case.id)))


def test_a_gate_sos_opens_a_case_with_its_gate_device_and_evidence(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        site: Site = seed_site(session)
    feed(sessions, "jjhy-gate1-sos", "sos", {"button": "b1", "pressed": "long"}, T0)
    [case] = cases(sessions)
    with sessions() as session:
        alarm = session.scalars(select(Alarm)).one()
    assert (case.category, case.source, case.state, case.alarm_id) == ("sos", "gate", "reported", alarm.id)
    assert (case.community_id, case.compound_id, case.gate_id) == (
        site.community_id,
        site.compound_id,
        site.gate_id,
    )
    assert case.device_id == "jjhy-gate1-sos" and case.evidence == alarm.evidence
    assert case.title.startswith("一键报警：")
    staff = Principal(role=Role.STAFF, user_id=1, username="s", community_ids=frozenset({site.community_id}))
    with sessions() as session:
        listed = reads.list_cases(session, actor=staff, params=PageParams()).items
    assert [(c.id, c.reporter_name, c.gate_id) for c in listed] == [(case.id, "平台", site.gate_id)]


def test_a_silent_device_opens_a_device_offline_case(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        seed_site(session)
    feed(sessions, "jjhy-gate2-qr", "heartbeat", {"uptime_s": 1, "fw": "1"}, T0)
    with sessions() as session:
        handlers.every_second(session, now=T0 + timedelta(minutes=3))
        session.commit()
    assert [(c.category, c.device_id) for c in cases(sessions)] == [("device_offline", "jjhy-gate2-qr")]


def test_alarms_of_unregistered_places_and_callers_other_than_the_platform_open_nothing(
    db: Session,
) -> None:
    stray = AlarmCase(1, "sos", None, None, None, "stray", "无主设备")
    assert reporting.open_from_alarms(db, actor=Principal.system(), alarms=[stray]) == []
    staff = Principal(role=Role.STAFF, user_id=1, username="s", community_ids=frozenset({1}))
    try:
        reporting.open_from_alarms(db, actor=staff, alarms=[stray])
    except Forbidden:
        return
    raise AssertionError("a person opened a case as the platform")


def test_a_gate_sos_pushed_over_http_opens_its_case_too(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    """Devices without MQTT post their events; the alarm they raise is work for a person all the same."""
    with sessions() as session:
        seed_site(session)
    token = device_token(sessions, "jjhy-gate1-sos")
    body = envelope("jjhy-gate1-sos", "sos", {"button": "b1", "pressed": "long"}, ts=utcnow())
    response = client.post(
        "/api/v1/devices/jjhy-gate1-sos/events", content=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 202, response.text
    [case] = cases(sessions)
    assert (case.category, case.source, case.device_id) == ("sos", "gate", "jjhy-gate1-sos")


def test_a_gate_sos_carries_the_gate_cameras_picture_nearest_the_alarm(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        site: Site = seed_site(session)
        for snapshot_id, seconds in (("early", -300), ("before", -20), ("after", 45), ("just-after", 10)):
            session.add(
                DeviceSnapshot(
                    device_id="jjhy-gate1-camera", snapshot_id=snapshot_id,
                    received_at=T0 + timedelta(seconds=seconds),
                    community_id=site.community_id, compound_id=site.compound_id, gate_id=site.gate_id,
                    size=1, sha256="0" * 64, path=f"snapshots/x/{snapshot_id}.jpg",
                )
            )  # fmt: skip
        session.commit()
    feed(sessions, "jjhy-gate1-sos", "sos", {"button": "b1", "pressed": "long"}, T0)
    [case] = cases(sessions)
    assert case.evidence["snapshot_device"] == "jjhy-gate1-camera"
    assert case.evidence["snapshot"] == "just-after"  # 10 s after beats 20 s before; 45 s after is too late


def test_a_camera_reporting_night_loitering_opens_a_case_with_its_picture(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        site: Site = seed_site(session)
    payload = {
        "zone": "南门广场",
        "class": "person",
        "seconds": 312.5,
        "track_id": 9031,
        "snapshot": "snap-0820",
    }
    feed(sessions, "jjhy-gate1-cam", "loitering", payload, T0)
    [case] = cases(sessions)
    assert (case.category, case.source, case.device_id, case.gate_id) == (
        "loitering",
        "gate",
        "jjhy-gate1-cam",
        site.gate_id,
    )
    assert case.title == "夜间徘徊：1号门 南门广场 有人逗留 5 分钟"
    assert case.evidence["snapshot"] == "snap-0820" and case.evidence["seconds"] == 312.5
