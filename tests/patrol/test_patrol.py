"""视频巡查: plans over the gate cameras, rounds due, done and missed by the schedule, a round made camera
by camera, and a finding that opens a case with the picture that was seen."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.cases.models import Case
from jiayuan.devices.models import DeviceSnapshot
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.clock import LOCAL_TZ
from jiayuan.kernel.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.kernel.principal import Principal, Role
from jiayuan.patrol import service
from jiayuan.patrol.schedule import slots_between
from jiayuan.patrol.schemas import CheckIn, FindingIn, PlanCameraIn, PlanIn, StartIn
from jiayuan.patrol.states import SlotState
from tests.accounts.helpers import csrf_token, login
from tests.devices.snapshot_helpers import jpeg
from tests.factories import Site, make_user, seed_site, token_for

CAM = "jjhy-gate1-cam"
EVENING = datetime(2026, 12, 5, 20, 0, tzinfo=LOCAL_TZ)


def staff(site: Site, user_id: int = 7, username: str = "zhoumin") -> Principal:
    return Principal(
        role=Role.STAFF, user_id=user_id, username=username, community_ids=frozenset({site.community_id})
    )


def night_plan(site: Site, cameras: tuple[str, ...] = (CAM,)) -> PlanIn:
    return PlanIn(
        community_id=site.community_id, name="夜间巡查", every_minutes=120,
        window_start="20:00", window_end="06:00",
        cameras=[PlanCameraIn(device_id=c, checklist=["门口无人逗留", "道闸正常"]) for c in cameras],
    )  # fmt: skip


@pytest.fixture
def site(sessions: sessionmaker[Session]) -> Site:
    with sessions() as session:
        return seed_site(session)


def test_a_night_schedule_runs_over_midnight_and_an_empty_window_all_day() -> None:
    night = slots_between(
        every=timedelta(hours=2), start="20:00", end="06:00", since=EVENING, until=EVENING + timedelta(days=1)
    )
    assert [f"{s:%H:%M}" for s in night] == ["20:00", "22:00", "00:00", "02:00", "04:00"]
    day = slots_between(
        every=timedelta(hours=6), start="08:00", end="08:00", since=EVENING, until=EVENING + timedelta(days=1)
    )
    assert [f"{s:%H:%M}" for s in day] == ["20:00", "02:00", "08:00", "14:00"]
    early = slots_between(
        every=timedelta(hours=2), start="20:00", end="06:00",
        since=EVENING - timedelta(hours=19), until=EVENING - timedelta(hours=16),
    )  # fmt: skip
    assert [f"{s:%d %H:%M}" for s in early] == ["05 02:00"]  # the night before, seen from the morning


def test_rounds_are_due_done_or_missed_and_a_finding_opens_a_case_with_the_picture(
    db: Session, site: Site, tmp_path: Path
) -> None:
    me = staff(site)
    plan = service.create_plan(db, actor=me, data=night_plan(site))
    files = SnapshotFiles(tmp_path)
    now = EVENING + timedelta(minutes=30)
    states = {
        s.slot: s.state
        for s in service.slots(
            db, actor=me, since=EVENING - timedelta(hours=20), until=EVENING + timedelta(hours=3), now=now
        )
    }
    assert states[EVENING] is SlotState.DUE
    assert states[EVENING + timedelta(hours=2)] is SlotState.UPCOMING
    assert states[EVENING - timedelta(hours=16)] is SlotState.MISSED  # 04:00 that morning, nobody came

    with pytest.raises(Invalid) as not_a_slot:
        service.start_round(
            db, actor=me, data=StartIn(plan_id=plan.id, slot=EVENING + timedelta(minutes=5)), now=now
        )
    assert not_a_slot.value.field == "slot"
    with pytest.raises(Conflict, match="未到"):
        service.start_round(
            db, actor=me, data=StartIn(plan_id=plan.id, slot=EVENING + timedelta(hours=2)), now=now
        )
    begun = service.start_round(db, actor=me, data=StartIn(plan_id=plan.id, slot=EVENING), now=now)
    assert begun.to_check == [CAM]
    again = service.start_round(db, actor=me, data=StartIn(plan_id=plan.id, slot=EVENING), now=now)
    assert again.id == begun.id

    bad = [
        ({"门口无人逗留": True, "道闸正常": True, "多余": True}, "没有这些检查项：多余"),
        ({"门口无人逗留": True}, "请逐项回答：道闸正常"),
    ]
    for answers, message in bad:
        with pytest.raises(Invalid, match=message):
            service.record_check(
                db, actor=me, round_id=begun.id, data=CheckIn(device_id=CAM, answers=answers), files=files
            )
    with pytest.raises(Invalid) as unexplained:
        service.record_check(
            db,
            actor=me,
            round_id=begun.id,
            data=CheckIn(device_id=CAM, answers={"门口无人逗留": False, "道闸正常": True}),
            files=files,
        )
    assert unexplained.value.field == "finding"
    with pytest.raises(Invalid, match="不在本计划"):
        service.record_check(
            db, actor=me, round_id=begun.id, data=CheckIn(device_id="jjhy-gate1-qr", answers={}), files=files
        )
    with pytest.raises(Invalid, match="还有摄像机没有看"):
        service.finish_round(db, actor=me, round_id=begun.id, now=now)

    other = staff(site, user_id=8, username="liuying")
    seen = CheckIn(
        device_id=CAM, answers={"门口无人逗留": False, "道闸正常": True}, note="两人在门口徘徊",
        finding=FindingIn(title="北门有人徘徊", description="两名男子在门口徘徊二十分钟"),
    )  # fmt: skip
    with pytest.raises(Conflict, match="zhoumin"):  # a round is its patroller's
        service.record_check(db, actor=other, round_id=begun.id, data=seen, files=files)
    picture = jpeg(77)
    check = service.record_check(
        db, actor=me, round_id=begun.id, data=seen, files=files, picture=picture, now=now
    )
    assert check.case_id is not None and check.snapshot_id is not None
    case = db.get(Case, check.case_id)
    assert case is not None
    assert (case.source, case.category, case.device_id, case.state) == ("patrol", "safety", CAM, "reported")
    assert case.evidence["snapshot"] == check.snapshot_id and case.evidence["patrol_round"] == begun.id
    stored = db.scalars(select(DeviceSnapshot).where(DeviceSnapshot.snapshot_id == check.snapshot_id)).one()
    assert files.read(stored.path) == picture
    with pytest.raises(Conflict, match="已经看过"):
        service.record_check(db, actor=me, round_id=begun.id, data=seen, files=files)

    done = service.finish_round(db, actor=me, round_id=begun.id, now=now)
    assert done.state == "done" and done.to_check == []
    with pytest.raises(Conflict, match="已经结束"):
        service.finish_round(db, actor=me, round_id=begun.id, now=now)
    counted = service.tally(
        db, actor=me, since=EVENING - timedelta(hours=20), until=EVENING + timedelta(hours=8), now=now
    )
    assert (counted.done, counted.missed, counted.findings) == (
        1,
        3,
        1,
    )  # 00:00, 02:00 and 04:00 that morning


def test_plans_and_rounds_stay_in_their_community(db: Session, site: Site, tmp_path: Path) -> None:
    plan = service.create_plan(db, actor=staff(site), data=night_plan(site))
    stranger = Principal(
        role=Role.STAFF, user_id=9, username="x", community_ids=frozenset({site.other_community_id})
    )
    assert service.list_plans(db, actor=stranger) == []
    for call in (
        lambda: service.slots(db, actor=stranger, plan_id=plan.id),
        lambda: service.start_round(
            db, actor=stranger, data=StartIn(plan_id=plan.id, slot=EVENING), now=EVENING
        ),
    ):
        with pytest.raises(NotFound) as hidden:
            call()
        assert hidden.value.message == "巡查计划不存在"
    with pytest.raises(NotFound):  # planning in another community, or with its cameras
        service.create_plan(db, actor=stranger, data=night_plan(site))
    with pytest.raises(NotFound):
        service.create_plan(db, actor=staff(site), data=night_plan(site, cameras=("nowhere-cam",)))
    screen = Principal(
        role=Role.SCREEN, user_id=10, username="daping", community_ids=frozenset({site.community_id})
    )
    assert [p.id for p in service.list_plans(db, actor=screen)] == [plan.id]
    with pytest.raises(Forbidden):  # the screen watches, it does not patrol
        service.start_round(db, actor=screen, data=StartIn(plan_id=plan.id, slot=EVENING), now=EVENING)
    resident = Principal(
        role=Role.RESIDENT, user_id=11, username="jumin", community_ids=frozenset({site.community_id})
    )
    with pytest.raises(Forbidden):
        service.list_plans(db, actor=resident)


def test_the_api_and_the_console_page(
    client: TestClient, sessions: sessionmaker[Session], site: Site
) -> None:
    token = token_for(
        sessions, make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{site.community_id}"])
    )
    headers = {"Authorization": f"Bearer {token}"}
    body = night_plan(site).model_dump()
    created = client.post("/api/v1/patrol/plans", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["cameras"][0]["checklist"] == ["门口无人逗留", "道闸正常"]
    for broken, field in (({"window_start": "8点"}, "window_start"), ({"every_minutes": 5}, "every_minutes"),
                          ({"cameras": []}, "cameras")):  # fmt: skip
        refused = client.post("/api/v1/patrol/plans", json=body | broken, headers=headers)
        assert refused.status_code == 422 and field in refused.text, broken
    slots = client.get("/api/v1/patrol/slots", headers=headers)
    assert slots.status_code == 200 and slots.json() and {s["state"] for s in slots.json()} <= set(SlotState)
    page = client.get("/console/patrol", headers=headers)
    assert page.status_code == 200 and "夜间巡查" in page.text


def test_the_cli_lists_plans_and_rounds(cli_env: None, sessions: sessionmaker[Session], site: Site) -> None:
    from typer.testing import CliRunner

    from jiayuan.cli.main import app

    with sessions() as session:
        service.create_plan(session, actor=staff(site), data=night_plan(site))
        session.commit()
    listed = CliRunner().invoke(app, ["patrol", "plans", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [p["name"] for p in json.loads(listed.stdout)] == ["夜间巡查"]
    rounds = CliRunner().invoke(app, ["patrol", "rounds"])
    assert rounds.exit_code == 0 and "巡查轮次" in rounds.stdout


def test_a_round_made_in_the_console(client: TestClient, sessions: sessionmaker[Session], site: Site) -> None:
    make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{site.community_id}"])
    with sessions() as session:  # all day, hourly, so a round is due whenever the test runs
        hourly = {"window_start": "00:00", "window_end": "00:00", "every_minutes": 60}
        data = night_plan(site).model_copy(update=hourly)
        plan = service.create_plan(session, actor=staff(site), data=data)
        session.commit()
    assert login(client, "zhoumin").status_code == 303
    token = csrf_token(client)
    due = [s for s in service.slots(sessions(), actor=staff(site)) if s.state is SlotState.DUE]
    started = client.post(
        "/console/patrol/rounds",
        data={"csrf_token": token, "plan_id": plan.id, "slot": due[0].slot.isoformat()},
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text
    round_url = started.headers["location"]
    page = client.get(round_url)
    assert "门口无人逗留" in page.text and "记录这台" in page.text
    items = {"csrf_token": token, "device_id": CAM, "items": ["门口无人逗留", "道闸正常"]}
    unexplained = client.post(f"{round_url}/checks", data=items | {"ok": ["道闸正常"]})
    assert unexplained.status_code == 422 and "请填写发现的问题" in unexplained.text
    found = client.post(
        f"{round_url}/checks",
        data=items | {"ok": ["道闸正常"], "finding_title": "门口有人徘徊", "finding_category": "loitering"},
        follow_redirects=False,
    )
    assert found.status_code == 303 and "已生成事件" in unquote(found.headers["location"])
    finished = client.post(f"{round_url}/finish", data={"csrf_token": token}, follow_redirects=False)
    assert finished.status_code == 303
    with sessions() as session:
        case = session.scalars(select(Case)).one()
        assert (case.category, case.source, case.title) == ("loitering", "patrol", "门口有人徘徊")
