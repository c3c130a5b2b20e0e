"""Rosters on a real database: shifts, templates, holidays, swaps, sign-in; every refusal names its field
and writes nothing; another community's roster reads like a missing one."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import AuditEntry
from jiayuan.accounts.service import users
from jiayuan.db.uow import unit_of_work
from jiayuan.duty.models import DutyShift
from jiayuan.duty.schemas import (
    ApplyIn,
    DutyRole,
    HolidayIn,
    PlaceKind,
    ShiftChange,
    ShiftIn,
    SwapIn,
    TemplateIn,
)
from jiayuan.duty.service import on_duty, shifts, templates
from jiayuan.kernel.errors import Conflict, Forbidden, Invalid, JiayuanError, NotFound
from jiayuan.kernel.principal import Principal
from tests.duty.helpers import Crew, at, build_crew


@pytest.fixture
def crew(db: Session, sessions: sessionmaker[Session]) -> Crew:
    return build_crew(db, sessions)


def shift(crew: Crew, who: str, start: Any, end: Any, **extra: Any) -> ShiftIn:
    fields: dict[str, Any] = {
        "community_id": crew.community_id,
        "user_id": crew.ids[who],
        "duty_role": DutyRole.GRID_WORKER,
        "place_kind": PlaceKind.GRID,
        "place_id": crew.grid_id,
        "starts_at": start,
        "ends_at": end,
    }
    fields.update(extra)
    return ShiftIn(**fields)


def add(sessions: sessionmaker[Session], actor: Principal, data: ShiftIn) -> int:
    with unit_of_work(sessions) as session:
        return shifts.add_shift(session, actor=actor, data=data).id


def refused(sessions: sessionmaker[Session], call: Any) -> JiayuanError:
    """Run a service call expected to refuse; nothing it did stays."""
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(DutyShift))
    with pytest.raises(JiayuanError) as caught, unit_of_work(sessions) as session:
        call(session)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DutyShift)) == before
    return caught.value


def test_a_shift_is_stored_in_utc_named_and_audited(sessions: sessionmaker[Session], crew: Crew) -> None:
    staff = crew.principals["staff"]
    with unit_of_work(sessions) as session:
        out = shifts.add_shift(session, actor=staff, data=shift(crew, "worker", at(7, 8), at(7, 20)))
    assert (out.user_name, out.duty_role_label, out.place_name) == ("wangwei", "网格员", "第一网格")
    assert out.starts_at.utcoffset() == timedelta(0) and out.starts_at.hour == 0
    with sessions() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "duty.shift.add")).one()
    assert (audit.target_id, audit.community_id, audit.actor_name) == (
        str(out.id),
        crew.community_id,
        "zhoumin",
    )


def test_times_without_an_offset_are_beijing_time(sessions: sessionmaker[Session], crew: Crew) -> None:
    data = shift(crew, "worker", at(7, 8).replace(tzinfo=None), at(7, 20).replace(tzinfo=None))
    with unit_of_work(sessions) as session:
        out = shifts.add_shift(session, actor=crew.principals["staff"], data=data)
    assert out.starts_at == at(7, 8)


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        (at(7, 20), at(7, 8), "ends_at", "结束时间须晚于开始时间"),
        (at(7, 8), at(7, 8), "ends_at", "结束时间须晚于开始时间"),
        (at(7, 8), at(8, 9), "ends_at", "一个班次不能超过 24 小时"),
    ],
)
def test_bad_times_are_refused(
    sessions: sessionmaker[Session], crew: Crew, start: Any, end: Any, field: str, message: str
) -> None:
    error = refused(
        sessions,
        lambda s: shifts.add_shift(s, actor=crew.principals["staff"], data=shift(crew, "worker", start, end)),
    )
    assert (type(error), error.field, error.message) == (Invalid, field, message)


def test_overlapping_shifts_of_one_person_are_refused_but_touching_ones_are_not(
    sessions: sessionmaker[Session], crew: Crew
) -> None:
    staff = crew.principals["staff"]
    first = add(sessions, staff, shift(crew, "worker", at(7, 8), at(7, 20)))
    error = refused(
        sessions,
        lambda s: shifts.add_shift(
            s,
            actor=staff,
            data=shift(crew, "worker", at(7, 19), at(7, 23), place_id=crew.grid2_id),
        ),
    )
    assert isinstance(error, Invalid) and error.field == "starts_at"
    assert f"班次 #{first}" in error.message and "时间重叠" in error.message and "wangwei" in error.message
    add(sessions, staff, shift(crew, "worker", at(7, 20), at(7, 23)))  # starts as the first one ends
    add(sessions, staff, shift(crew, "worker2", at(7, 8), at(7, 20), place_id=crew.grid2_id))


def test_another_communitys_roster_reads_like_a_missing_one(
    sessions: sessionmaker[Session], crew: Crew
) -> None:
    far = crew.principals["far_staff"]
    missing = refused(
        sessions, lambda s: shifts.add_shift(s, actor=far, data=shift(crew, "worker", at(7, 8), at(7, 20)))
    )
    nowhere = refused(
        sessions,
        lambda s: shifts.add_shift(
            s, actor=far, data=shift(crew, "worker", at(7, 8), at(7, 20), community_id=999_999)
        ),
    )
    for error in (missing, nowhere):
        assert (type(error), error.field, error.message) == (NotFound, "community_id", "社区不存在")
    with unit_of_work(sessions) as session:
        shift_id = shifts.add_shift(
            session, actor=crew.principals["staff"], data=shift(crew, "worker", at(7, 8), at(7, 20))
        ).id
    for call in (
        lambda s: shifts.change_shift(s, actor=far, shift_id=shift_id, data=ShiftChange(note="x")),
        lambda s: shifts.cancel_shift(s, actor=far, shift_id=shift_id),
        lambda s: shifts.sign_in(s, actor=far, shift_id=shift_id, now=at(7, 9)),
        lambda s: shifts.change_shift(s, actor=far, shift_id=999_999, data=ShiftChange(note="x")),
    ):
        error = refused(sessions, call)
        assert (type(error), error.field, error.message) == (NotFound, "shift_id", "值班班次不存在")
    with sessions() as session:
        for call in (
            lambda: on_duty.on_duty_now(session, actor=far, community_id=crew.community_id),
            lambda: shifts.list_shifts(
                session,
                actor=far,
                community_id=crew.community_id,
                start=date(2026, 12, 7),
                end=date(2026, 12, 7),
            ),
            lambda: on_duty.coverage_gaps(
                session,
                actor=far,
                community_id=crew.community_id,
                start=date(2026, 12, 7),
                end=date(2026, 12, 7),
            ),
        ):
            with pytest.raises(NotFound, match="社区不存在"):
                call()


@pytest.mark.parametrize("who", ["far_staff", "far_worker", "resident", "missing"])
def test_a_person_outside_the_community_reads_like_a_missing_one(
    sessions: sessionmaker[Session], crew: Crew, who: str
) -> None:
    user_id = crew.ids.get(who, 999_999)
    data = shift(crew, "worker", at(7, 8), at(7, 20), user_id=user_id)
    error = refused(sessions, lambda s: shifts.add_shift(s, actor=crew.principals["staff"], data=data))
    assert (type(error), error.field, error.message) == (Invalid, "user_id", f"人员 #{user_id} 不存在")


def test_places_must_be_the_communitys_and_fit_the_role(sessions: sessionmaker[Session], crew: Crew) -> None:
    staff = crew.principals["staff"]
    cases = [
        ({"place_id": crew.far_grid_id}, "place_id", f"网格 #{crew.far_grid_id} 不存在"),
        (
            {"place_kind": PlaceKind.GATE, "place_id": crew.grid_id + 999},
            "place_kind",
            "网格员只能在网格值班",
        ),
        (
            {"duty_role": DutyRole.GUARD, "place_kind": PlaceKind.GATE, "place_id": 999},
            "place_id",
            "出入口 #999 不存在",
        ),
        (
            {"duty_role": DutyRole.CADRE, "place_kind": PlaceKind.COMMUNITY, "place_id": 1},
            "place_id",
            "全社区值班不填地点编号",
        ),
        (
            {"duty_role": DutyRole.CADRE, "place_kind": PlaceKind.GRID},
            "place_kind",
            "值班干部只能在全社区值班",
        ),
        ({"place_id": None}, "place_id", "请选择网格"),
    ]
    for extra, field, message in cases:
        data = shift(crew, "worker", at(7, 8), at(7, 20), **extra)
        error = refused(sessions, lambda s, d=data: shifts.add_shift(s, actor=staff, data=d))
        assert (error.field, error.message) == (field, message)
    guard = shift(
        crew,
        "volunteer",
        at(7, 8),
        at(7, 20),
        duty_role=DutyRole.VOLUNTEER,
        place_kind=PlaceKind.GATE,
        place_id=crew.gate_id,
    )
    with unit_of_work(sessions) as session:
        assert shifts.add_shift(session, actor=staff, data=guard).place_name == "锦江花园 1号门"


def test_residents_see_no_roster_and_grid_workers_edit_none(
    sessions: sessionmaker[Session], crew: Crew
) -> None:
    with sessions() as session, pytest.raises(Forbidden, match="该角色无权查看值班表"):
        on_duty.on_duty_now(session, actor=crew.principals["resident"])
    error = refused(
        sessions,
        lambda s: shifts.add_shift(
            s, actor=crew.principals["worker"], data=shift(crew, "worker", at(7, 8), at(7, 20))
        ),
    )
    assert (type(error), error.field) == (NotFound, "community_id")


def template(crew: Crew, who: str, weekday: int, start: str, end: str, **extra: Any) -> TemplateIn:
    fields: dict[str, Any] = {
        "community_id": crew.community_id,
        "user_id": crew.ids[who],
        "duty_role": DutyRole.GRID_WORKER,
        "place_kind": PlaceKind.GRID,
        "place_id": crew.grid_id,
        "weekday": weekday,
        "start": start,
        "end": end,
    }
    fields.update(extra)
    return TemplateIn(**fields)


def test_templates_produce_weekly_shifts_overnight_and_skip_holidays(
    sessions: sessionmaker[Session], crew: Crew
) -> None:
    staff = crew.principals["staff"]
    with unit_of_work(sessions) as session:
        day = templates.add_template(session, actor=staff, data=template(crew, "worker", 1, "08:00", "20:00"))
        night = templates.add_template(
            session, actor=staff, data=template(crew, "worker2", 1, "20:00", "08:00")
        )
        templates.add_holiday(
            session,
            actor=staff,
            data=HolidayIn(community_id=crew.community_id, day=date(2026, 12, 14), name="调休"),
        )
    assert (day.overnight, night.overnight) == (False, True)
    period = ApplyIn(community_id=crew.community_id, start=date(2026, 12, 7), end=date(2026, 12, 21))
    with unit_of_work(sessions) as session:
        applied = templates.apply_templates(session, actor=staff, data=period)
    assert (applied.created, applied.already, applied.holidays) == (4, 0, [date(2026, 12, 14)])
    with unit_of_work(sessions) as session:
        again = templates.apply_templates(session, actor=staff, data=period)
        listed = shifts.list_shifts(
            session,
            actor=staff,
            community_id=crew.community_id,
            start=date(2026, 12, 7),
            end=date(2026, 12, 22),
        )
    assert (again.created, again.already) == (0, 4)
    spans = sorted((s.user_name, s.starts_at, s.ends_at) for s in listed)
    assert spans == [
        ("wangwei", at(7, 8), at(7, 20)),
        ("wangwei", at(21, 8), at(21, 20)),
        ("zhaoli", at(7, 20), at(8, 8)),
        ("zhaoli", at(21, 20), at(22, 8)),
    ]


def test_a_template_clash_refuses_the_whole_period(sessions: sessionmaker[Session], crew: Crew) -> None:
    staff = crew.principals["staff"]
    with unit_of_work(sessions) as session:
        made = templates.add_template(
            session, actor=staff, data=template(crew, "worker", 2, "08:00", "20:00")
        )
    add(sessions, staff, shift(crew, "worker", at(15, 19), at(15, 22), place_id=crew.grid2_id))
    period = ApplyIn(community_id=crew.community_id, start=date(2026, 12, 7), end=date(2026, 12, 20))
    error = refused(sessions, lambda s: templates.apply_templates(s, actor=staff, data=period))
    assert isinstance(error, Invalid) and error.field == "template_id"
    assert (
        f"模板 #{made.id}" in error.message
        and "2026-12-15" in error.message
        and "未生成任何班次" in error.message
    )


def test_template_inputs_are_checked(sessions: sessionmaker[Session], crew: Crew) -> None:
    staff = crew.principals["staff"]
    error = refused(
        sessions,
        lambda s: templates.add_template(s, actor=staff, data=template(crew, "worker", 1, "08:00", "08:00")),
    )
    assert error.field == "end"
    error = refused(
        sessions,
        lambda s: templates.add_template(
            s, actor=staff, data=template(crew, "far_worker", 1, "08:00", "09:00")
        ),
    )
    assert (error.field, error.message) == ("user_id", f"人员 #{crew.ids['far_worker']} 不存在")
    long = ApplyIn(community_id=crew.community_id, start=date(2026, 12, 1), end=date(2027, 3, 1))
    assert refused(sessions, lambda s: templates.apply_templates(s, actor=staff, data=long)).field == "end"
    back = ApplyIn(community_id=crew.community_id, start=date(2026, 12, 9), end=date(2026, 12, 1))
    assert refused(sessions, lambda s: templates.apply_templates(s, actor=staff, data=back)).field == "end"


def test_a_holiday_is_set_once(sessions: sessionmaker[Session], crew: Crew) -> None:
    staff = crew.principals["staff"]
    holiday = HolidayIn(community_id=crew.community_id, day=date(2027, 1, 1), name="元旦")
    with unit_of_work(sessions) as session:
        templates.add_holiday(session, actor=staff, data=holiday)
    with pytest.raises(Conflict, match="已是节假日"), unit_of_work(sessions) as session:
        templates.add_holiday(session, actor=staff, data=holiday)


def test_a_cancelled_template_shift_does_not_come_back(sessions: sessionmaker[Session], crew: Crew) -> None:
    staff = crew.principals["staff"]
    with unit_of_work(sessions) as session:
        templates.add_template(session, actor=staff, data=template(crew, "worker", 1, "08:00", "20:00"))
    period = ApplyIn(community_id=crew.community_id, start=date(2026, 12, 7), end=date(2026, 12, 7))
    with unit_of_work(sessions) as session:
        templates.apply_templates(session, actor=staff, data=period)
        produced = shifts.list_shifts(
            session,
            actor=staff,
            community_id=crew.community_id,
            start=date(2026, 12, 7),
            end=date(2026, 12, 7),
        )
        shifts.cancel_shift(session, actor=staff, shift_id=produced[0].id)
    with unit_of_work(sessions) as session:
        assert templates.apply_templates(session, actor=staff, data=period).created == 0
        assert (
            shifts.list_shifts(
                session,
                actor=staff,
                community_id=crew.community_id,
                start=date(2026, 12, 7),
                end=date(2026, 12, 7),
            )
            == []
        )
    # The person is free again at that time.
    add(sessions, staff, shift(crew, "worker", at(7, 9), at(7, 12)))


def test_a_swap_trades_people_and_checks_both_are_free(sessions: sessionmaker[Session], crew: Crew) -> None:
    staff = crew.principals["staff"]
    mine = add(sessions, staff, shift(crew, "worker", at(7, 8), at(7, 20)))
    theirs = add(sessions, staff, shift(crew, "worker2", at(8, 8), at(8, 20), place_id=crew.grid2_id))
    with unit_of_work(sessions) as session:
        swapped = shifts.swap_shifts(
            session, actor=staff, data=SwapIn(first_shift_id=mine, second_shift_id=theirs)
        )
    assert [(s.id, s.user_name) for s in swapped] == [(mine, "zhaoli"), (theirs, "wangwei")]
    # zhaoli (now on the 7th) takes the 8th's evening too: swapping her back into the 8th is refused.
    late = add(sessions, staff, shift(crew, "worker2", at(8, 19), at(8, 23), place_id=crew.grid2_id))
    error = refused(
        sessions,
        lambda s: shifts.swap_shifts(
            s, actor=staff, data=SwapIn(first_shift_id=mine, second_shift_id=theirs)
        ),
    )
    assert error.field == "starts_at" and f"班次 #{late}" in error.message
    same = refused(
        sessions,
        lambda s: shifts.swap_shifts(s, actor=staff, data=SwapIn(first_shift_id=mine, second_shift_id=mine)),
    )
    assert same.field == "second_shift_id"
    cadre = add(
        sessions,
        staff,
        shift(
            crew,
            "cadre",
            at(9, 8),
            at(9, 20),
            duty_role=DutyRole.CADRE,
            place_kind=PlaceKind.COMMUNITY,
            place_id=None,
        ),
    )
    roles = refused(
        sessions,
        lambda s: shifts.swap_shifts(s, actor=staff, data=SwapIn(first_shift_id=mine, second_shift_id=cadre)),
    )
    assert roles.field == "second_shift_id" and "同一值班角色" in roles.message


def test_a_one_off_change_moves_a_shift_and_keeps_the_rules(
    sessions: sessionmaker[Session], crew: Crew
) -> None:
    staff = crew.principals["staff"]
    first = add(sessions, staff, shift(crew, "worker", at(7, 8), at(7, 20)))
    add(sessions, staff, shift(crew, "worker2", at(7, 8), at(7, 20), place_id=crew.grid2_id))
    with unit_of_work(sessions) as session:
        moved = shifts.change_shift(
            session, actor=staff, shift_id=first, data=ShiftChange(starts_at=at(7, 9), ends_at=at(7, 21))
        )
    assert (moved.starts_at, moved.ends_at) == (at(7, 9), at(7, 21))
    clash = refused(
        sessions,
        lambda s: shifts.change_shift(
            s, actor=staff, shift_id=first, data=ShiftChange(user_id=crew.ids["worker2"])
        ),
    )
    assert clash.field == "starts_at"
    backwards = refused(
        sessions,
        lambda s: shifts.change_shift(s, actor=staff, shift_id=first, data=ShiftChange(ends_at=at(7, 7))),
    )
    assert backwards.field == "ends_at"


def test_sign_in_and_out(sessions: sessionmaker[Session], crew: Crew) -> None:
    shift_id = add(sessions, crew.principals["staff"], shift(crew, "worker", at(7, 8), at(7, 20)))
    worker = crew.principals["worker"]
    for now, message in ((at(7, 7, 29), "最早提前 30 分钟签到"), (at(7, 20), "班次已结束")):
        with pytest.raises(Conflict, match=message), unit_of_work(sessions) as session:
            shifts.sign_in(session, actor=worker, shift_id=shift_id, now=now)
    with pytest.raises(Conflict, match="尚未签到"), unit_of_work(sessions) as session:
        shifts.sign_out(session, actor=worker, shift_id=shift_id, now=at(7, 9))
    with pytest.raises(NotFound), unit_of_work(sessions) as session:
        shifts.sign_in(session, actor=crew.principals["worker2"], shift_id=shift_id, now=at(7, 8))
    with unit_of_work(sessions) as session:
        signed = shifts.sign_in(session, actor=worker, shift_id=shift_id, now=at(7, 7, 30))
    assert signed.signed_in_at == at(7, 7, 30)
    with pytest.raises(Conflict, match="已于 12月07日 07:30 签到"), unit_of_work(sessions) as session:
        shifts.sign_in(session, actor=worker, shift_id=shift_id, now=at(7, 8))
    with unit_of_work(sessions) as session:
        assert shifts.sign_out(session, actor=worker, shift_id=shift_id, now=at(7, 20, 5)).signed_out_at
    with sessions() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("duty.shift.sign%"))
        ).all()
    assert sorted(actions) == ["duty.shift.sign_in", "duty.shift.sign_out"]


def test_grids_with_nobody_on_duty_are_reported(sessions: sessionmaker[Session], crew: Crew) -> None:
    staff = crew.principals["staff"]
    add(sessions, staff, shift(crew, "worker", at(7, 0), at(7, 12)))
    add(
        sessions,
        staff,
        shift(
            crew,
            "volunteer",
            at(7, 8),
            at(7, 20),
            duty_role=DutyRole.VOLUNTEER,
            place_kind=PlaceKind.GATE,
            place_id=crew.gate_id,
        ),
    )
    add(sessions, staff, shift(crew, "worker2", at(7, 0), at(8, 0), place_id=crew.grid2_id))
    with sessions() as session:
        gaps = on_duty.coverage_gaps(
            session,
            actor=staff,
            community_id=crew.community_id,
            start=date(2026, 12, 7),
            end=date(2026, 12, 7),
        )
    assert [(g.grid_name, g.starts_at, g.ends_at) for g in gaps] == [("第一网格", at(7, 12), at(8, 0))]
    assert gaps[0].message == "第一网格 12月07日 12:00 至 12月08日 00:00 无人值班"


def test_a_community_wide_grid_leader_covers_every_grid(sessions: sessionmaker[Session], crew: Crew) -> None:
    staff = crew.principals["staff"]
    add(sessions, staff, shift(crew, "worker", at(7, 8), at(7, 20)))
    add(
        sessions,
        staff,
        shift(
            crew,
            "leader",
            at(7, 20),
            at(8, 8),
            duty_role=DutyRole.GRID_LEADER,
            place_kind=PlaceKind.COMMUNITY,
            place_id=None,
        ),
    )
    with sessions() as session:
        gaps = on_duty.coverage_gaps(
            session,
            actor=staff,
            community_id=crew.community_id,
            start=date(2026, 12, 7),
            end=date(2026, 12, 7),
        )
    assert [(g.grid_name, g.starts_at, g.ends_at) for g in gaps] == [
        ("第一网格", at(7, 0), at(7, 8)),
        ("第二网格", at(7, 0), at(7, 20)),
    ]


def test_a_template_of_a_deactivated_account_stops_the_roster_by_name(
    sessions: sessionmaker[Session], crew: Crew
) -> None:
    staff = crew.principals["staff"]
    with unit_of_work(sessions) as session:
        made = templates.add_template(
            session, actor=staff, data=template(crew, "worker", 1, "08:00", "20:00")
        )
        users.deactivate_user(session, actor=Principal.system(), user_id=crew.ids["worker"], reason="调离")
    period = ApplyIn(community_id=crew.community_id, start=date(2026, 12, 7), end=date(2026, 12, 7))
    error = refused(sessions, lambda s: templates.apply_templates(s, actor=staff, data=period))
    assert (error.field, error.message) == (
        "template_id",
        f"模板 #{made.id}：人员 #{crew.ids['worker']} 不存在，请先删除或改派",
    )


def test_a_removed_holiday_lets_the_templates_apply_again(
    sessions: sessionmaker[Session], crew: Crew
) -> None:
    staff = crew.principals["staff"]
    with unit_of_work(sessions) as session:
        templates.add_template(session, actor=staff, data=template(crew, "worker", 1, "08:00", "20:00"))
        holiday = templates.add_holiday(
            session,
            actor=staff,
            data=HolidayIn(community_id=crew.community_id, day=date(2026, 12, 7), name="调休"),
        )
    period = ApplyIn(community_id=crew.community_id, start=date(2026, 12, 7), end=date(2026, 12, 7))
    with unit_of_work(sessions) as session:
        assert templates.apply_templates(session, actor=staff, data=period).created == 0
    for actor in (crew.principals["far_staff"], crew.principals["worker"]):
        with pytest.raises(NotFound, match="节假日不存在"), unit_of_work(sessions) as session:
            templates.remove_holiday(session, actor=actor, holiday_id=holiday.id)
    with unit_of_work(sessions) as session:
        templates.remove_holiday(session, actor=staff, holiday_id=holiday.id)
        assert templates.list_holidays(session, actor=staff, community_id=crew.community_id) == []
    with unit_of_work(sessions) as session:
        assert templates.apply_templates(session, actor=staff, data=period).created == 1
