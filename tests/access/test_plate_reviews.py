"""待辨认车牌: plates no device could read wait for a person, within scope; a person's reading becomes an
ordinary plate read (classification, presence, watch list, flow), audited; a bad entry is refused."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.access.models import Alarm, FlowBucket, UnreadPlate, VehiclePassage, VehiclePresence, bucket_of
from jiayuan.access.schemas import PlateReading, WatchPlateIn
from jiayuan.access.service import plate_reviews, vehicles
from jiayuan.accounts.models import AuditEntry
from jiayuan.cases.models import Case
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import Gate
from tests.access.test_vehicles_flow import send
from tests.accounts.helpers import csrf_token, login
from tests.factories import Site, add_compound, add_device, bearer_for, make_user, seed_site

PLATE_CAM = "jjhy-gate1-plate"


def unreadable(sessions: sessionmaker[Session], at: datetime, **payload: object) -> None:
    body = {"snapshot": "snap-1", "text": "欢迎光临", "confidence": 0.4} | payload
    send(sessions, PLATE_CAM, "plate_unreadable", body, at)


def waiting(sessions: sessionmaker[Session]) -> list[UnreadPlate]:
    with sessions() as session:
        return list(session.scalars(select(UnreadPlate).order_by(UnreadPlate.id)))


def staff_of(site: Site) -> Principal:
    return Principal(
        role=Role.STAFF, user_id=1, username="zhangwei", community_ids=frozenset({site.community_id})
    )


def test_unreadable_plates_and_junk_sent_as_plates_wait_for_a_person(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        seed_site(session)
    at = utcnow().replace(microsecond=0)
    unreadable(sessions, at, direction="in")
    plate = {"color": "blue", "confidence": 0.9, "direction": "in", "snapshot": "snap-2"}
    send(sessions, PLATE_CAM, "plate_read", plate | {"plate": "欢迎光临 停车收费"}, at + timedelta(seconds=5))
    # One O/0 swap from a plate: still a plate, counted with its note (never silently changed).
    send(sessions, PLATE_CAM, "plate_read", plate | {"plate": "豫A1O345"}, at + timedelta(seconds=9))
    rows = waiting(sessions)
    assert [(r.event_type, r.text_raw, r.snapshot, r.direction, r.state) for r in rows] == [
        ("plate_unreadable", "欢迎光临", "snap-1", "in", "waiting"),
        ("plate_read", "欢迎光临 停车收费", "snap-2", "in", "waiting"),
    ]
    with sessions() as session:
        assert [p.plate for p in session.scalars(select(VehiclePassage))] == ["豫A1O345"]
        assert sum(b.vehicles_in for b in session.scalars(select(FlowBucket))) == 1
        assert session.scalars(select(Alarm)).all() == []  # nothing else is raised


def test_a_persons_reading_becomes_a_plate_read_with_presence_watch_list_flow_and_audit(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        site = seed_site(session)
        vehicles.add_watch_plate(
            session,
            actor=Principal.system(),
            data=WatchPlateIn(community_id=site.community_id, plate="豫B88888", reason="协查"),
        )
        session.commit()
    passed = utcnow().replace(microsecond=0) - timedelta(minutes=40)
    unreadable(sessions, passed)  # no direction: the person picks it
    [row] = waiting(sessions)
    staff = staff_of(site)
    with sessions() as session:
        listed = plate_reviews.list_waiting(session, actor=staff, params=PageParams())
        assert [(u.id, u.gate_name, u.compound_name) for u in listed.items] == [(row.id, "1号门", "锦江花园")]
        done = plate_reviews.read_plate(
            session,
            actor=staff,
            unread_id=row.id,
            data=PlateReading(plate="豫b·88888", color="yellow", direction="in"),
        )
        session.commit()
    assert (done.state, done.plate, done.reviewed_by) == ("read", "豫B88888", "zhangwei")
    with sessions() as session:
        passage = session.get_one(VehiclePassage, done.passage_id)
        assert (passage.plate, passage.category, passage.direction, passage.color) == (
            "豫B88888", "outside", "in", "yellow"
        )  # fmt: skip
        assert passage.at == passed and passage.snapshot == "snap-1"  # the time the vehicle passed
        assert "zhangwei 看抓拍图辨认" in passage.notes
        presence = session.scalars(select(VehiclePresence)).one()
        assert (presence.plate, presence.entered_at, presence.left_at) == ("豫B88888", passed, None)
        bucket = session.scalars(select(FlowBucket)).one()
        assert (bucket.bucket, bucket.vehicles_in, bucket.outside_in) == (bucket_of(passed), 1, 1)
        alarm = session.scalars(select(Alarm)).one()
        assert alarm.type == "watchlist_plate" and alarm.evidence["passage_id"] == passage.id
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "plate.read")).one()
        assert (audit.actor_name, audit.target_type, audit.target_id, audit.target_label) == (
            "zhangwei", "unread_plate", str(row.id), "豫B88888"
        )  # fmt: skip
        assert audit.community_id == site.community_id and audit.detail["passage_id"] == passage.id
        assert plate_reviews.count_waiting(session, actor=staff) == 0
        with pytest.raises(Conflict):  # read once only
            plate_reviews.dismiss(session, actor=staff, unread_id=row.id)


def test_a_typed_plate_that_follows_no_format_is_refused_naming_the_field(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        site = seed_site(session)
    unreadable(sessions, utcnow(), direction="out")
    [row] = waiting(sessions)
    with sessions() as session:
        for typed in ("欢迎光临", "A12345", "豫A1O345"):
            with pytest.raises(Invalid) as refused:
                plate_reviews.read_plate(
                    session,
                    actor=staff_of(site),
                    unread_id=row.id,
                    data=PlateReading(plate=typed, color="blue", direction="out"),
                )
            assert refused.value.field == "plate" and "车牌号码" in refused.value.message
            session.rollback()
    assert [r.state for r in waiting(sessions)] == ["waiting"]
    with sessions() as session:
        assert session.scalars(select(VehiclePassage)).all() == []


def test_dismissed_plates_count_nowhere_and_are_audited(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        site = seed_site(session)
    unreadable(sessions, utcnow(), direction="in")
    [row] = waiting(sessions)
    with sessions() as session:
        shown = plate_reviews.dismiss(session, actor=staff_of(site), unread_id=row.id, reason="车牌被泥遮挡")
        session.commit()
    assert (shown.state, shown.reviewed_by) == ("dismissed", "zhangwei")
    with sessions() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "plate.dismiss")).one()
        assert audit.reason == "车牌被泥遮挡" and audit.target_id == str(row.id)
        assert session.scalars(select(VehiclePassage)).all() == []
        assert session.scalars(select(FlowBucket)).all() == []


def test_unread_plates_follow_the_gate_scope(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        site = seed_site(session)
        senhai = add_compound(session, site.community_id, "森海一期", "sh1", gate="东门")
    unreadable(sessions, utcnow(), direction="in")
    [row] = waiting(sessions)
    jinjiang_guard = Principal(role=Role.PROPERTY, username="wy", compound_ids=frozenset({site.compound_id}))
    senhai_guard = Principal(role=Role.PROPERTY, username="wy2", compound_ids=frozenset({senhai}))
    elsewhere = Principal(role=Role.STAFF, username="qt", community_ids=frozenset({site.other_community_id}))
    police = Principal(role=Role.POLICE, username="jc", community_ids=frozenset({site.community_id}))
    resident = Principal(role=Role.RESIDENT, household_id=1, community_ids=frozenset({site.community_id}))
    reading = PlateReading(plate="豫A12345", color="blue", direction="in")
    with sessions() as session:
        assert plate_reviews.count_waiting(session, actor=jinjiang_guard) == 1
        assert plate_reviews.count_waiting(session, actor=police) == 1  # police look, do not write
        for outsider in (senhai_guard, elsewhere):
            assert plate_reviews.list_waiting(session, actor=outsider, params=PageParams()).items == []
            assert plate_reviews.count_waiting(session, actor=outsider) == 0
            with pytest.raises(NotFound):
                plate_reviews.read_plate(session, actor=outsider, unread_id=row.id, data=reading)
            with pytest.raises(NotFound):
                plate_reviews.dismiss(session, actor=outsider, unread_id=row.id)
        with pytest.raises(Forbidden):
            plate_reviews.read_plate(session, actor=police, unread_id=row.id, data=reading)
        with pytest.raises(Forbidden):
            plate_reviews.list_waiting(session, actor=resident, params=PageParams())
        done = plate_reviews.read_plate(session, actor=jinjiang_guard, unread_id=row.id, data=reading)
        assert done.state == "read"


def test_console_page_lists_reads_and_refuses_by_scope(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        site = seed_site(session)
        senhai = add_compound(session, site.community_id, "森海一期", "sh1", gate="东门")
        gate = session.scalars(select(Gate).where(Gate.compound_id == senhai)).one()
        add_device(session, gate.id, "sh1-gate1-plate", "plate", "东门 车牌")
        vehicles.add_watch_plate(
            session,
            actor=Principal.system(),
            data=WatchPlateIn(community_id=site.community_id, plate="豫A12345", reason="协查"),
        )
        session.commit()
    passed = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    unreadable(sessions, passed, direction="in")
    send(sessions, "sh1-gate1-plate", "plate_unreadable", {"snapshot": "sh-1", "text": "停车场"}, passed)
    jinjiang, senhai_read = waiting(sessions)
    make_user(sessions, "zhangwei", Role.STAFF, scopes=[f"community:{site.community_id}"])
    make_user(sessions, "wuye", Role.PROPERTY, scopes=[f"compound:{senhai}"])

    login(client, "wuye")
    token = csrf_token(client)
    page = client.get("/console/flow/unread-plates")
    assert page.status_code == 200 and "待辨认车牌" in page.text
    assert "停车场" in page.text and "/api/v1/devices/sh1-gate1-plate/snapshots/sh-1.jpg" in page.text
    assert "欢迎光临" not in page.text and f"unread-{jinjiang.id}" not in page.text
    form = {"csrf_token": token, "plate": "豫A12345", "color": "blue", "direction": "in"}
    refused = client.post(f"/console/flow/unread-plates/{jinjiang.id}/read", data=form)
    assert refused.status_code == 404 and "待辨认车牌不存在" in refused.text
    gone = client.post(f"/console/flow/unread-plates/{jinjiang.id}/dismiss", data={"csrf_token": token})
    assert gone.status_code == 404
    flow = client.get("/console/flow")
    assert (
        re.search(r'id="unread-plates">1<', flow.text) and 'href="/console/flow/unread-plates"' in flow.text
    )

    client.cookies.clear()
    login(client, "zhangwei")
    token = csrf_token(client)
    page = client.get("/console/flow/unread-plates")
    assert f'action="/console/flow/unread-plates/{jinjiang.id}/read"' in page.text
    assert "/api/v1/devices/jjhy-gate1-plate/snapshots/snap-1.jpg" in page.text and "停车场" in page.text
    bad = client.post(
        f"/console/flow/unread-plates/{jinjiang.id}/read",
        data={"csrf_token": token, "plate": "欢迎光临", "color": "blue", "direction": "in"},
    )
    assert bad.status_code == 422 and "车牌号码不符合车牌格式" in bad.text
    assert 'value="欢迎光临" aria-invalid="true"' in bad.text  # what was typed stays in the form
    missing = client.post(
        f"/console/flow/unread-plates/{jinjiang.id}/read", data={"csrf_token": token, "plate": "豫A12345"}
    )
    assert missing.status_code == 422 and "车牌颜色" in missing.text and "方向" in missing.text
    done = client.post(
        f"/console/flow/unread-plates/{jinjiang.id}/read",
        data={"csrf_token": token, "plate": "豫A12345", "color": "blue", "direction": "in"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].startswith(
        "/console/flow/unread-plates?notice="
    )
    assert "已记录 豫A12345（1号门 进）" in client.get(done.headers["location"]).text
    again = client.post(
        f"/console/flow/unread-plates/{jinjiang.id}/dismiss",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert again.status_code == 409 and "该车牌已由他人辨认或标记" in again.text
    with sessions() as session:
        passage = session.scalars(select(VehiclePassage)).one()
        assert (passage.plate, passage.at, passage.device_id) == ("豫A12345", passed, "jjhy-gate1-plate")
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.actor_name == "zhangwei")).all()
        assert "plate.read" in actions
        # The watch-listed plate, read by a person, raised its alarm and the alarm opened its case.
        case = session.scalars(select(Case)).one()
        assert (case.source, case.gate_id) == ("gate", site.gate_id)
    assert [r.state for r in waiting(sessions)] == ["read", "waiting"]
    client.cookies.set("lang", "en")  # the English switch translates the page
    english = client.get("/console/flow/unread-plates")
    assert "<h1>Unread plates</h1>" in english.text and "Record plate" in english.text
    refused_in_english = client.post(
        f"/console/flow/unread-plates/{senhai_read.id}/read",
        data={"csrf_token": token, "plate": "停车场", "color": "blue", "direction": "in"},
    )
    assert "The plate number follows no plate format" in refused_in_english.text


def test_the_api_lists_reads_and_refuses_naming_the_field(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        site = seed_site(session)
    unreadable(sessions, utcnow(), direction="out")
    [row] = waiting(sessions)
    staff = bearer_for(sessions, "zhangwei", Role.STAFF, f"community:{site.community_id}")
    listed = client.get("/api/v1/unread-plates", headers=staff).json()
    assert listed["total"] == 1 and listed["items"][0]["text_raw"] == "欢迎光临"
    assert listed["items"][0]["gate_name"] == "1号门" and listed["items"][0]["state"] == "waiting"
    path = f"/api/v1/unread-plates/{row.id}/read"
    bad = client.post(path, json={"plate": "欢迎光临", "color": "blue", "direction": "out"}, headers=staff)
    assert bad.status_code == 422 and bad.json()["field"] == "plate" and "车牌号码" in bad.json()["detail"]
    unknown_colour = client.post(
        path, json={"plate": "豫A12345", "color": "purple", "direction": "out"}, headers=staff
    )
    assert unknown_colour.status_code == 422
    done = client.post(path, json={"plate": "豫A12345", "color": "blue", "direction": "out"}, headers=staff)
    assert done.status_code == 200 and done.json()["state"] == "read" and done.json()["passage_id"]
    assert client.get("/api/v1/unread-plates", headers=staff).json()["total"] == 0
    again = client.post(f"/api/v1/unread-plates/{row.id}/dismiss", headers=staff)
    assert again.status_code == 409
