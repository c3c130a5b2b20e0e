"""Who is on duty at a moment: start inclusive, end exclusive, overnight across Beijing midnight, after
swaps and holidays, and only within reach."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.db.uow import unit_of_work
from jiayuan.duty.schemas import ApplyIn, DutyNow, DutyRole, HolidayIn, PlaceKind, ShiftIn, SwapIn, TemplateIn
from jiayuan.duty.service import on_duty, shifts, templates
from jiayuan.kernel.errors import Forbidden, NotFound
from jiayuan.kernel.principal import Principal
from tests.duty.helpers import Crew, at, build_crew


@pytest.fixture
def crew(db: Session, sessions: sessionmaker[Session]) -> Crew:
    return build_crew(db, sessions)


def put(sessions: sessionmaker[Session], crew: Crew, who: str, start: Any, end: Any, **extra: Any) -> int:
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
    with unit_of_work(sessions) as session:
        return shifts.add_shift(session, actor=crew.principals["staff"], data=ShiftIn(**fields)).id


def now(
    sessions: sessionmaker[Session], actor: Principal, moment: Any, community_id: int | None = None
) -> DutyNow:
    with sessions() as session:
        return on_duty.on_duty_now(session, actor=actor, community_id=community_id, at=moment)


def people(found: DutyNow, kind: PlaceKind, place_id: int | None = None) -> list[str]:
    for place in found.places:
        if (place.place_kind, place.place_id) == (kind, place_id):
            return [p.user_name for p in place.people]
    raise AssertionError(f"no place {kind} {place_id}")


def test_a_shift_counts_from_its_start_up_to_but_not_at_its_end(
    sessions: sessionmaker[Session], crew: Crew
) -> None:
    put(sessions, crew, "worker", at(7, 8), at(7, 20))
    staff = crew.principals["staff"]
    before, start = now(sessions, staff, at(7, 7, 59)), now(sessions, staff, at(7, 8))
    last, end = now(sessions, staff, at(7, 19, 59)), now(sessions, staff, at(7, 20))
    assert people(before, PlaceKind.GRID, crew.grid_id) == []
    assert people(start, PlaceKind.GRID, crew.grid_id) == ["wangwei"]
    assert people(last, PlaceKind.GRID, crew.grid_id) == ["wangwei"]
    assert people(end, PlaceKind.GRID, crew.grid_id) == []


def test_every_grid_gate_and_the_community_is_listed(sessions: sessionmaker[Session], crew: Crew) -> None:
    put(
        sessions,
        crew,
        "cadre",
        at(7, 8),
        at(7, 20),
        duty_role=DutyRole.CADRE,
        place_kind=PlaceKind.COMMUNITY,
        place_id=None,
    )
    put(
        sessions,
        crew,
        "volunteer",
        at(7, 8),
        at(7, 20),
        duty_role=DutyRole.VOLUNTEER,
        place_kind=PlaceKind.GATE,
        place_id=crew.gate_id,
    )
    found = now(sessions, crew.principals["staff"], at(7, 9))
    assert [(p.place_kind, p.place_name, [x.user_name for x in p.people]) for p in found.places] == [
        (PlaceKind.COMMUNITY, "全社区", ["chenjun"]),
        (PlaceKind.GRID, "第一网格", []),
        (PlaceKind.GRID, "第二网格", []),
        (PlaceKind.GATE, "锦江花园 1号门", ["zhouhong"]),
    ]


def test_an_overnight_template_covers_beijing_midnight(sessions: sessionmaker[Session], crew: Crew) -> None:
    staff = crew.principals["staff"]
    with unit_of_work(sessions) as session:
        templates.add_template(
            session,
            actor=staff,
            data=TemplateIn(
                community_id=crew.community_id,
                user_id=crew.ids["worker2"],
                duty_role=DutyRole.GRID_WORKER,
                place_kind=PlaceKind.GRID,
                place_id=crew.grid_id,
                weekday=7,
                start="22:00",
                end="06:00",
            ),
        )
        templates.apply_templates(
            session,
            actor=staff,
            data=ApplyIn(community_id=crew.community_id, start=date(2026, 12, 13), end=date(2026, 12, 13)),
        )
    # Sunday 13th 22:00 Beijing is 14:00 UTC the same day; Monday 06:00 Beijing is Sunday 22:00 UTC.
    for moment, on in (
        (at(13, 21, 59), []),
        (at(13, 23, 30), ["zhaoli"]),
        (at(14, 0), ["zhaoli"]),
        (at(14, 5, 59), ["zhaoli"]),
        (at(14, 6), []),
    ):
        assert people(now(sessions, staff, moment), PlaceKind.GRID, crew.grid_id) == on, moment


def test_a_swap_and_a_holiday_change_who_is_on(sessions: sessionmaker[Session], crew: Crew) -> None:
    staff = crew.principals["staff"]
    with unit_of_work(sessions) as session:
        for weekday in (1, 2):
            templates.add_template(
                session,
                actor=staff,
                data=TemplateIn(
                    community_id=crew.community_id,
                    user_id=crew.ids["worker"],
                    duty_role=DutyRole.GRID_WORKER,
                    place_kind=PlaceKind.GRID,
                    place_id=crew.grid_id,
                    weekday=weekday,
                    start="08:00",
                    end="20:00",
                ),
            )
        templates.add_holiday(
            session,
            actor=staff,
            data=HolidayIn(community_id=crew.community_id, day=date(2026, 12, 8), name="调休"),
        )
        templates.apply_templates(
            session,
            actor=staff,
            data=ApplyIn(community_id=crew.community_id, start=date(2026, 12, 7), end=date(2026, 12, 8)),
        )
    other = put(sessions, crew, "worker2", at(9, 8), at(9, 20))
    monday = service_shift_at(sessions, crew, at(7, 9))
    with unit_of_work(sessions) as session:
        shifts.swap_shifts(session, actor=staff, data=SwapIn(first_shift_id=monday, second_shift_id=other))
    assert people(now(sessions, staff, at(7, 9)), PlaceKind.GRID, crew.grid_id) == ["zhaoli"]
    assert people(now(sessions, staff, at(8, 9)), PlaceKind.GRID, crew.grid_id) == []  # the holiday
    assert people(now(sessions, staff, at(9, 9)), PlaceKind.GRID, crew.grid_id) == ["wangwei"]


def service_shift_at(sessions: sessionmaker[Session], crew: Crew, moment: Any) -> int:
    with sessions() as session:
        found = on_duty.on_duty_now(session, actor=crew.principals["staff"], at=moment)
    return next(p.people[0].shift_id for p in found.places if p.place_id == crew.grid_id)


def test_reach_of_who_is_on_duty(sessions: sessionmaker[Session], crew: Crew) -> None:
    put(sessions, crew, "worker", at(7, 8), at(7, 20))
    put(sessions, crew, "worker2", at(7, 8), at(7, 20), place_id=crew.grid2_id)
    put(
        sessions,
        crew,
        "cadre",
        at(7, 8),
        at(7, 20),
        duty_role=DutyRole.CADRE,
        place_kind=PlaceKind.COMMUNITY,
        place_id=None,
    )
    put(
        sessions,
        crew,
        "volunteer",
        at(7, 8),
        at(7, 20),
        duty_role=DutyRole.VOLUNTEER,
        place_kind=PlaceKind.GATE,
        place_id=crew.gate_id,
    )
    # A grid worker sees their own grid and the community-wide posts, not the other grid or the gates.
    worker = now(sessions, crew.principals["worker"], at(7, 9))
    assert [(p.place_name, [x.user_name for x in p.people]) for p in worker.places] == [
        ("全社区", ["chenjun"]),
        ("第一网格", ["wangwei"]),
    ]
    # A volunteer sees their own post only.
    volunteer = now(sessions, crew.principals["volunteer"], at(7, 9))
    assert [(p.place_name, [x.user_name for x in p.people]) for p in volunteer.places] == [
        ("锦江花园 1号门", ["zhouhong"])
    ]
    # Another community's staff: their own (empty) community; asking for ours reads like a missing one.
    far = now(sessions, crew.principals["far_staff"], at(7, 9))
    assert {p.community_id for p in far.places} == {crew.tree.other_community.id}
    with sessions() as session:
        for community_id in (crew.community_id, 999_999):
            with pytest.raises(NotFound, match="社区不存在") as caught:
                on_duty.on_duty_now(session, actor=crew.principals["far_staff"], community_id=community_id)
            assert caught.value.field == "community_id"
        with pytest.raises(Forbidden):
            on_duty.on_duty_now(session, actor=crew.principals["resident"])
