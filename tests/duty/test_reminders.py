"""At the start of a shift its person is told, once, what is open for them."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.cases.models import Case
from jiayuan.cases.schemas import ActionIn, CaseIn
from jiayuan.cases.service import reporting, workflow
from jiayuan.db.uow import unit_of_work
from jiayuan.duty.models import DutyShift
from jiayuan.duty.schemas import DutyRole, PlaceKind, ShiftIn
from jiayuan.duty.service import shifts
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal
from jiayuan.notify import service as notify
from jiayuan.notify.schemas import MessageOut, Routing
from tests.duty.helpers import Crew, at, build_crew

SYSTEM = Principal.system()


@pytest.fixture
def crew(db: Session, sessions: sessionmaker[Session]) -> Crew:
    notify.configure(Routing())
    return build_crew(db, sessions)


def shift(
    session: Session,
    crew: Crew,
    who: str,
    role: DutyRole,
    kind: PlaceKind,
    place: int | None,
    start: datetime,
) -> int:
    data = ShiftIn(
        community_id=crew.community_id,
        user_id=crew.ids[who],
        duty_role=role,
        place_kind=kind,
        place_id=place,
        starts_at=start,
        ends_at=start + timedelta(hours=12),
    )
    return shifts.add_shift(session, actor=crew.principals["staff"], data=data).id


def reminders(session: Session) -> list[MessageOut]:
    page = notify.list_messages(session, actor=SYSTEM, params=PageParams(size=100))
    return [m for m in page.items if m.title.startswith("【上岗提醒】")]


def test_a_grid_worker_is_told_once_of_what_is_open_for_them(db: Session, crew: Crew) -> None:
    staff = crew.principals["staff"]
    tree = crew.tree
    mine = reporting.report_case(
        db, actor=staff, data=CaseIn(category="repair", title="楼道灯不亮", household_id=tree.h101.id)
    ).id
    workflow.act(db, actor=staff, case_id=mine, data=ActionIn(action="accept"))
    workflow.act(
        db, actor=staff, case_id=mine, data=ActionIn(action="dispatch", assignee_user_id=crew.ids["worker"])
    )
    unassigned = reporting.report_case(
        db, actor=staff, data=CaseIn(category="noise", title="夜间装修", household_id=tree.h102.id)
    ).id
    elsewhere = reporting.report_case(
        db, actor=staff, data=CaseIn(category="noise", title="别的网格", household_id=tree.h201.id)
    ).id
    db.execute(update(Case).where(Case.id == unassigned).values(due_at=at(7, 1)))
    closed = reporting.report_case(
        db, actor=staff, data=CaseIn(category="other", title="已结", household_id=tree.h101.id)
    ).id
    db.execute(
        update(Case).where(Case.id == closed).values(state="closed", assignee_user_id=crew.ids["worker"])
    )
    shift(db, crew, "worker", DutyRole.GRID_WORKER, PlaceKind.GRID, crew.grid_id, at(7, 8))
    later = shift(db, crew, "worker2", DutyRole.GRID_WORKER, PlaceKind.GRID, crew.grid2_id, at(7, 9))

    assert workflow.remind_shift_starts(db, actor=SYSTEM, now=at(7, 7, 59)) == 0, "not before the shift"
    assert (
        workflow.remind_shift_starts(
            db,
            actor=SYSTEM,
            now=at(
                7,
                8,
                0,
            ),
        )
        == 1
    )
    assert workflow.remind_shift_starts(db, actor=SYSTEM, now=at(7, 8, 1)) == 0, "once per shift"
    (told,) = reminders(db)
    assert told.title == "【上岗提醒】第一网格 网格员" and told.target == "wangwei（本人）"
    lines = told.text.splitlines()
    assert lines[0] == "您 12月07日 08:00 至 20:00 在第一网格值班（网格员）。"
    assert lines[1] == "待办事件 2 件："
    # The overdue one first, then the one with them; not another grid's, not a closed one.
    assert lines[2] == f"#{unassigned} 夜间装修（上报，已超时）"
    assert lines[3].startswith(f"#{mine} 楼道灯不亮（派遣")
    assert str(elsewhere) not in told.text and f"#{closed}" not in told.text

    # A cancelled shift is not reminded of; one that ended while the platform was down neither.
    db.execute(update(DutyShift).where(DutyShift.id == later).values(cancelled_at=at(7, 8)))
    assert workflow.remind_shift_starts(db, actor=SYSTEM, now=at(7, 9, 0)) == 0
    shift(db, crew, "cadre", DutyRole.CADRE, PlaceKind.COMMUNITY, None, at(8, 8))
    assert workflow.remind_shift_starts(db, actor=SYSTEM, now=at(8, 20, 30)) == 0


def test_a_restarted_platform_reminds_a_shift_begun_while_it_was_down(db: Session, crew: Crew) -> None:
    shift(db, crew, "cadre", DutyRole.CADRE, PlaceKind.COMMUNITY, None, at(7, 8))
    assert workflow.remind_shift_starts(db, actor=SYSTEM, now=at(7, 10, 30)) == 1
    (told,) = reminders(db)
    assert told.text.splitlines()[1] == "目前没有待办事件。"


def test_two_workers_never_remind_one_shift_twice(
    sessions: sessionmaker[Session], crew: Crew, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: two workers cannot claim at once")
    with unit_of_work(sessions) as session:
        for who, grid in (("worker", crew.grid_id), ("worker2", crew.grid2_id)):
            shift(session, crew, who, DutyRole.GRID_WORKER, PlaceKind.GRID, grid, at(7, 8))
    first_holds, release = threading.Event(), threading.Event()
    counts: list[int] = []

    def first() -> None:
        with unit_of_work(sessions) as session:
            counts.append(workflow.remind_shift_starts(session, actor=SYSTEM, now=at(7, 8, 1)))
            first_holds.set()
            release.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_holds.wait(10)
    with unit_of_work(sessions) as session:
        counts.append(workflow.remind_shift_starts(session, actor=SYSTEM, now=at(7, 8, 1)))
    release.set()
    thread.join(10)
    assert counts == [2, 0]
    with sessions() as session:
        assert len(reminders(session)) == 2
        assert (
            session.scalars(select(DutyShift.reminded_at).where(DutyShift.reminded_at.is_(None))).all() == []
        )
