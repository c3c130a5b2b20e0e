"""Patrol plans changed by the office: name, cameras and checklists, schedule, pause and resume, retire and
delete, through the service, the API and the console form; the rounds and missed rounds of before stay."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import AuditEntry
from jiayuan.kernel.clock import LOCAL_TZ
from jiayuan.kernel.errors import Conflict, Forbidden, NotFound
from jiayuan.kernel.principal import Principal, Role
from jiayuan.patrol import service
from jiayuan.patrol.models import PatrolCamera, PatrolPlan
from jiayuan.patrol.schemas import PlanCameraIn, PlanChange, PlanIn, StartIn
from jiayuan.patrol.states import SlotState
from jiayuan.registry.models import Gate
from tests.accounts.helpers import csrf_token, login
from tests.factories import Site, add_compound, add_device, make_user, seed_site, token_for

CAM, CAM2, FAR_CAM = "jjhy-gate1-cam", "jjhy-gate2-cam", "far-gate1-cam"
# A Monday evening in Beijing; the night plan runs 20:00–06:00 every 2 hours.
EVENING = datetime(2026, 12, 7, 20, 0, tzinfo=LOCAL_TZ)


def staff(site: Site) -> Principal:
    return Principal(
        role=Role.STAFF, user_id=7, username="zhoumin", community_ids=frozenset({site.community_id})
    )


def far_admin(site: Site) -> Principal:
    return Principal(
        role=Role.ADMIN, user_id=8, username="yuanfang", community_ids=frozenset({site.other_community_id})
    )


def night_plan(site: Site) -> PlanIn:
    return PlanIn(
        community_id=site.community_id, name="夜间巡查", every_minutes=120,
        window_start="20:00", window_end="06:00",
        cameras=[PlanCameraIn(device_id=CAM, checklist=["门口无人逗留", "道闸正常"])],
    )  # fmt: skip


@pytest.fixture
def site(sessions: sessionmaker[Session]) -> Site:
    """The site with a second camera at gate 2 and a camera in the other community."""
    with sessions() as session:
        site = seed_site(session)
        add_device(session, site.gate2_id, CAM2, "cam", "2号门 摄像机")
        session.commit()
        far = add_compound(session, site.other_community_id, "桐本花园", "far", gate="远方1号门")
        gate = session.scalars(select(Gate).where(Gate.compound_id == far)).one()
        add_device(session, gate.id, FAR_CAM, "cam", "远方摄像机")
        session.commit()
        return site


def states(db: Session, actor: Principal, plan_id: int, now: datetime) -> dict[str, SlotState]:
    listed = service.slots(
        db, actor=actor, plan_id=plan_id, since=EVENING - timedelta(hours=1),
        until=EVENING + timedelta(hours=12), now=now,
    )  # fmt: skip
    return {f"{s.slot:%d %H:%M}": s.state for s in listed}


def test_a_plan_is_changed_in_order_and_audited(db: Session, site: Site) -> None:
    me = staff(site)
    plan = service.create_plan(db, actor=me, data=night_plan(site))
    changed = service.update_plan(
        db, actor=me, plan_id=plan.id,
        data=PlanChange(
            name="夜间视频巡查",
            cameras=[PlanCameraIn(device_id=CAM2, checklist=["大门关闭"]),
                     PlanCameraIn(device_id=CAM, checklist=["门口无人逗留"])],
            grace_minutes=30,
        ),
    )  # fmt: skip
    assert changed.name == "夜间视频巡查" and changed.grace_minutes == 30 and changed.every_minutes == 120
    assert [(c.device_id, c.checklist) for c in changed.cameras] == [
        (CAM2, ["大门关闭"]),
        (CAM, ["门口无人逗留"]),
    ]
    db.commit()
    assert db.scalars(select(PatrolCamera.device_id).order_by(PatrolCamera.position)).all() == [CAM2, CAM]
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "patrol.plan_change")).all()
    assert str(entry.target_id) == str(plan.id)
    assert entry.detail["cameras"] == [CAM2, CAM] and entry.detail["grace_minutes"] == 30
    # Nothing changed: nothing audited.
    service.update_plan(db, actor=me, plan_id=plan.id, data=PlanChange(name="夜间视频巡查"))
    assert len(db.scalars(select(AuditEntry).where(AuditEntry.action == "patrol.plan_change")).all()) == 1


def test_a_schedule_change_and_a_pause_keep_the_rounds_missed_before(db: Session, site: Site) -> None:
    me = staff(site)
    plan = service.create_plan(db, actor=me, data=night_plan(site))
    midnight = EVENING + timedelta(hours=4, minutes=30)  # 20:00 and 22:00 missed, 00:00 due
    before = states(db, me, plan.id, midnight)
    assert before["07 20:00"] is SlotState.MISSED and before["07 22:00"] is SlotState.MISSED
    service.update_plan(db, actor=me, plan_id=plan.id, data=PlanChange(every_minutes=60), now=midnight)
    after = states(db, me, plan.id, midnight)
    assert {k: v for k, v in after.items() if k <= "08 00:00"} == {
        k: v for k, v in before.items() if k <= "08 00:00"
    }  # the slots before the change are as they were (00:00 still due)
    assert "08 01:00" in after and "08 02:00" in after  # hourly from now on
    service.update_plan(db, actor=me, plan_id=plan.id, data=PlanChange(active=False), now=midnight)
    paused = states(db, me, plan.id, midnight + timedelta(hours=3))
    assert paused["07 20:00"] is SlotState.MISSED and "08 01:00" not in paused and "08 02:00" not in paused
    tally = service.tally(
        db, actor=me, since=EVENING - timedelta(hours=1), until=EVENING + timedelta(hours=12),
        now=midnight + timedelta(hours=3),
    )  # fmt: skip
    assert tally.missed == 3  # 20:00, 22:00 and 00:00 (its time ran out during the pause)
    # Resumed at 04:30: hourly again from then on, nothing counted for the paused hours.
    resumed_at = midnight + timedelta(hours=4)
    service.update_plan(db, actor=me, plan_id=plan.id, data=PlanChange(active=True), now=resumed_at)
    resumed = states(db, me, plan.id, resumed_at)
    assert "08 03:00" not in resumed and resumed["08 05:00"] is SlotState.UPCOMING


def test_a_retired_plan_keeps_its_rounds_and_a_plan_with_a_past_is_not_deleted(
    db: Session, site: Site
) -> None:
    me = staff(site)
    plan = service.create_plan(db, actor=me, data=night_plan(site))
    begun = service.start_round(db, actor=me, data=StartIn(plan_id=plan.id, slot=EVENING), now=EVENING)
    with pytest.raises(Conflict) as kept:
        service.delete_plan(db, actor=me, plan_id=plan.id)
    assert "停用" in kept.value.message
    retired = service.retire_plan(db, actor=me, plan_id=plan.id, now=EVENING + timedelta(hours=3))
    assert retired.retired_at is not None and not retired.active and retired.rounds == 1
    after = states(db, me, plan.id, EVENING + timedelta(hours=6))
    assert after["07 20:00"] is SlotState.IN_PROGRESS or after["07 20:00"] is SlotState.MISSED
    assert after["07 22:00"] is SlotState.MISSED and "08 00:00" not in after  # nothing after retirement
    assert service.show_round(db, actor=me, round_id=begun.id).plan_id == plan.id
    with pytest.raises(Conflict):
        service.update_plan(db, actor=me, plan_id=plan.id, data=PlanChange(name="再来一次"))
    with pytest.raises(Conflict):
        service.start_round(db, actor=me, data=StartIn(plan_id=plan.id, slot=EVENING), now=EVENING)
    assert [p.id for p in service.list_plans(db, actor=me)] == [plan.id]


def test_a_plan_nothing_was_due_for_is_deleted(db: Session, site: Site) -> None:
    me = staff(site)
    data = night_plan(site).model_copy(
        update={"every_minutes": 1440, "window_start": "03:00", "window_end": "03:00"}
    )
    plan = service.create_plan(db, actor=me, data=data)
    db.commit()
    service.delete_plan(db, actor=me, plan_id=plan.id)
    db.commit()
    assert db.scalars(select(PatrolPlan)).all() == []
    assert db.scalars(select(AuditEntry).where(AuditEntry.action == "patrol.plan_delete")).one()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"cameras": []}, "请至少选择一台摄像机"),
        ({"cameras": [{"device_id": CAM, "checklist": ["道闸正常", "  "]}]}, "不能有空白的一项"),
        ({"cameras": [{"device_id": CAM, "checklist": []}]}, "至少要有一项"),
        ({"every_minutes": 0}, "巡查间隔"),
        ({"window_start": "8点"}, "HH:MM"),
        ({"window_end": "25:00"}, "HH:MM"),
        ({"grace_minutes": 0}, "完成时限"),
        ({"name": " "}, "计划名称"),
    ],
)
def test_bad_changes_are_refused_in_chinese_naming_the_field(change: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationError) as refused:
        PlanChange.model_validate(change)
    [error] = refused.value.errors()
    assert error["loc"][0] == next(iter(change)) and words in error["msg"]


def test_cameras_out_of_reach_are_refused_and_nothing_is_half_written(db: Session, site: Site) -> None:
    me = staff(site)
    plan = service.create_plan(db, actor=me, data=night_plan(site))
    db.commit()
    for device_id, words in (
        (FAR_CAM, "没有编号为"),
        ("nowhere-cam", "没有编号为"),
        ("jjhy-gate1-qr", "没有编号为"),
    ):
        with pytest.raises(NotFound) as refused:
            service.update_plan(
                db, actor=me, plan_id=plan.id,
                data=PlanChange(
                    name="改了名字", cameras=[PlanCameraIn(device_id=device_id, checklist=["看看"])]
                ),
            )  # fmt: skip
        assert refused.value.field == "cameras" and words in refused.value.message
        db.rollback()
    db.expire_all()
    stored = db.scalars(select(PatrolPlan)).one()
    assert stored.name == "夜间巡查" and [c.device_id for c in stored.cameras] == [CAM]


def test_another_communitys_admin_finds_no_plan_to_change(db: Session, site: Site) -> None:
    plan = service.create_plan(db, actor=staff(site), data=night_plan(site))
    stranger = far_admin(site)
    for call in (
        lambda: service.update_plan(db, actor=stranger, plan_id=plan.id, data=PlanChange(name="别人的计划")),
        lambda: service.update_plan(db, actor=stranger, plan_id=plan.id, data=PlanChange(active=False)),
        lambda: service.retire_plan(db, actor=stranger, plan_id=plan.id),
        lambda: service.delete_plan(db, actor=stranger, plan_id=plan.id),
        lambda: service.update_plan(
            db, actor=stranger, plan_id=plan.id + 100, data=PlanChange(name="不存在")
        ),
    ):
        with pytest.raises(NotFound) as hidden:
            call()
        assert hidden.value.message == "巡查计划不存在"
    grid = Principal(
        role=Role.GRID, user_id=13, username="wangwei", community_ids=frozenset({site.community_id})
    )
    with pytest.raises(Forbidden):
        service.update_plan(db, actor=grid, plan_id=plan.id, data=PlanChange(name="网格员改"))


def test_the_api_changes_pauses_retires_and_deletes(
    client: TestClient, sessions: sessionmaker[Session], site: Site
) -> None:
    mine = token_for(
        sessions, make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{site.community_id}"])
    )
    far = token_for(
        sessions, make_user(sessions, "yuanfang", Role.ADMIN, scopes=[f"community:{site.other_community_id}"])
    )
    headers, far_headers = {"Authorization": f"Bearer {mine}"}, {"Authorization": f"Bearer {far}"}
    created = client.post("/api/v1/patrol/plans", json=night_plan(site).model_dump(), headers=headers)
    assert created.status_code == 201, created.text
    url = f"/api/v1/patrol/plans/{created.json()['id']}"
    for broken, words in (
        ({"every_minutes": 0}, "巡查间隔"),
        ({"window_start": "20点"}, "HH:MM"),
        ({"cameras": []}, "请至少选择一台摄像机"),
        ({"cameras": [{"device_id": CAM, "checklist": [""]}]}, "不能有空白的一项"),
        ({"cameras": [{"device_id": FAR_CAM, "checklist": ["看看"]}]}, "摄像机"),
    ):
        refused = client.patch(url, json=broken | {"name": "半途改名"}, headers=headers)
        assert refused.status_code in (404, 422) and words in refused.text, (broken, refused.text)
    assert client.get("/api/v1/patrol/plans", headers=headers).json()[0]["name"] == "夜间巡查"
    hidden = client.patch(url, json={"name": "别人的计划"}, headers=far_headers)
    assert hidden.status_code == 404 and "巡查计划不存在" in hidden.text
    assert client.delete(url, headers=far_headers).status_code == 404
    assert client.post(f"{url}/retire", headers=far_headers).status_code == 404
    changed = client.patch(url, json={"every_minutes": 60, "active": False}, headers=headers)
    assert (
        changed.status_code == 200 and changed.json()["every_minutes"] == 60 and not changed.json()["active"]
    )
    deleted = client.delete(url, headers=headers)
    if deleted.status_code == 409:  # a slot of the night plan already came since it was made: retire it
        assert "停用" in deleted.text
        retired = client.post(f"{url}/retire", headers=headers)
        assert retired.status_code == 200 and retired.json()["retired_at"]
    else:
        assert deleted.status_code == 204
    fresh = night_plan(site).model_copy(
        update={"every_minutes": 1440, "window_start": "03:00", "window_end": "03:00"}
    )
    made = client.post("/api/v1/patrol/plans", json=fresh.model_dump(), headers=headers).json()
    assert client.delete(f"/api/v1/patrol/plans/{made['id']}", headers=headers).status_code == 204


def test_the_console_form_creates_and_changes_a_plan(
    client: TestClient, sessions: sessionmaker[Session], site: Site, tmp_path: Path
) -> None:
    make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{site.community_id}"])
    assert login(client, "zhoumin").status_code == 303
    token = csrf_token(client)
    form = client.get("/console/patrol/plans/new")
    assert form.status_code == 200 and CAM2 in form.text and FAR_CAM not in form.text
    body = {
        "csrf_token": token, "name": "夜间巡查", "every_minutes": "120", "window_start": "20:00",
        "window_end": "06:00", "cam": [CAM, CAM2], f"order.{CAM}": "2", f"order.{CAM2}": "1",
        f"checklist.{CAM}": "门口无人逗留\n\n道闸正常\n", f"checklist.{CAM2}": "大门关闭",
    }  # fmt: skip
    for broken, words in (
        ({"every_minutes": "0"}, "巡查间隔"),
        ({"every_minutes": "两小时"}, "巡查间隔：请填写分钟数"),
        ({"window_end": "6点"}, "结束时间：时间须写成 HH:MM"),
        ({"cam": []}, "摄像机：请至少选择一台摄像机"),
        ({f"checklist.{CAM2}": "  "}, "检查项：每台摄像机至少要有一项"),
    ):
        refused = client.post("/console/patrol/plans", data=body | broken)
        assert refused.status_code == 422 and words in refused.text, (broken, refused.text[-2000:])
        assert "夜间巡查" in refused.text  # what was typed stays
    with sessions() as session:
        assert session.scalars(select(PatrolPlan)).all() == []
    made = client.post("/console/patrol/plans", data=body, follow_redirects=False)
    assert made.status_code == 303 and "已创建" in unquote(made.headers["location"])
    with sessions() as session:
        plan = session.scalars(select(PatrolPlan)).one()
        assert [(c.device_id, c.checklist) for c in plan.cameras] == [
            (CAM2, ["大门关闭"]), (CAM, ["门口无人逗留", "道闸正常"]),
        ]  # fmt: skip
    page = client.get(f"/console/patrol/plans/{plan.id}")
    assert page.status_code == 200 and "门口无人逗留\n道闸正常" in page.text
    saved = client.post(
        f"/console/patrol/plans/{plan.id}",
        data=body | {"name": "夜间视频巡查", "cam": [CAM], "every_minutes": "60"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    paused = client.post(
        f"/console/patrol/plans/{plan.id}/state",
        data={"csrf_token": token, "action": "pause"},
        follow_redirects=False,
    )
    assert "已暂停" in unquote(paused.headers["location"])
    listing = client.get("/console/patrol")
    assert "夜间视频巡查" in listing.text and "已暂停" in listing.text
    with sessions() as session:
        plan = session.scalars(select(PatrolPlan)).one()
        assert (plan.name, plan.every_minutes, plan.active) == ("夜间视频巡查", 60, False)
        assert [c.device_id for c in plan.cameras] == [CAM]
    # Another community's admin: the plan's form and its state change read as missing.
    make_user(sessions, "yuanfang", Role.ADMIN, scopes=[f"community:{site.other_community_id}"])
    other = TestClient(client.app)
    assert login(other, "yuanfang").status_code == 303
    assert other.get(f"/console/patrol/plans/{plan.id}").status_code == 404
    other_token = csrf_token(other)
    refused = other.post(f"/console/patrol/plans/{plan.id}", data=body | {"csrf_token": other_token})
    assert refused.status_code == 404
    moved = other.post(
        f"/console/patrol/plans/{plan.id}/state",
        data={"csrf_token": other_token, "action": "retire"},
        follow_redirects=False,
    )
    assert "巡查计划不存在" in unquote(moved.headers["location"])
    with sessions() as session:
        assert session.scalars(select(PatrolPlan)).one().retired_at is None


def test_a_new_schedule_and_a_pause_at_once_keep_one_term(db: Session, site: Site) -> None:
    me = staff(site)
    plan = service.create_plan(db, actor=me, data=night_plan(site))
    at = EVENING + timedelta(hours=1)
    service.update_plan(
        db, actor=me, plan_id=plan.id, data=PlanChange(every_minutes=60, active=False), now=at
    )
    db.commit()
    [term] = db.scalars(select(PatrolPlan)).one().terms
    assert (term.every_minutes, term.ends_at) == (120, at)
    assert set(states(db, me, plan.id, at)) == {"07 20:00"}  # 20:00 of the old schedule, nothing after
