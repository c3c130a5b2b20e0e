"""Cases follow the roster: a new case goes to the grid worker on duty at its grid with the cadre on duty
told, and an overdue one climbs grid worker → 网格长 → 值班干部 → 社区书记 as they stand at that moment."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.cases.models import Case, CaseStep
from jiayuan.cases.schemas import ActionIn, AlarmCase, CaseIn, Category
from jiayuan.cases.service import reads, reporting, workflow
from jiayuan.cases.states import CaseAction
from jiayuan.db.uow import unit_of_work
from jiayuan.duty.schemas import DutyRole, PlaceKind, ShiftChange, ShiftIn
from jiayuan.duty.service import shifts
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal
from tests.duty.helpers import Crew, build_crew
from tests.factories import add_device

SYSTEM = Principal.system()


@pytest.fixture
def crew(db: Session, sessions: sessionmaker[Session]) -> Crew:
    return build_crew(db, sessions)


@pytest.fixture
def hour() -> datetime:
    """The start of a roster window around the real present (cases are opened at `utcnow()`)."""
    return utcnow().replace(microsecond=0) - timedelta(hours=1)


def on_duty(
    sessions: sessionmaker[Session],
    crew: Crew,
    who: str,
    role: DutyRole,
    start: datetime,
    hours: int = 6,
    **extra: Any,
) -> int:
    place = {"place_kind": PlaceKind.COMMUNITY, "place_id": None}
    if role is DutyRole.GRID_WORKER:
        place = {"place_kind": PlaceKind.GRID, "place_id": crew.grid_id}
    place.update(extra)
    data = ShiftIn(
        community_id=crew.community_id,
        user_id=crew.ids[who],
        duty_role=role,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        **place,
    )  # type: ignore[arg-type]
    with unit_of_work(sessions) as session:
        return shifts.add_shift(session, actor=crew.principals["staff"], data=data).id


def report(sessions: sessionmaker[Session], crew: Crew, category: Category = Category.NOISE) -> int:
    with unit_of_work(sessions) as session:
        return reporting.report_case(
            session,
            actor=crew.principals["resident"],
            data=CaseIn(category=category, title="楼上深夜装修"),
        ).id


def case_row(sessions: sessionmaker[Session], case_id: int) -> Case:
    with sessions() as session:
        case = session.get_one(Case, case_id)
        session.expunge(case)
        return case


def notes(sessions: sessionmaker[Session], case_id: int, action: str) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(
                select(CaseStep.note)
                .where(CaseStep.case_id == case_id, CaseStep.action == action)
                .order_by(CaseStep.id)
            )
        )


def test_a_report_goes_to_the_grid_worker_and_the_cadre_on_duty(
    sessions: sessionmaker[Session], crew: Crew, hour: datetime
) -> None:
    on_duty(sessions, crew, "worker", DutyRole.GRID_WORKER, hour)
    on_duty(sessions, crew, "cadre", DutyRole.CADRE, hour)
    case = case_row(sessions, report(sessions, crew))
    assert (case.grid_id, case.assignee_user_id, case.cadre_user_id) == (
        crew.grid_id,
        crew.ids["worker"],
        crew.ids["cadre"],
    )
    assert notes(sessions, case.id, "report") == ["按值班表派给网格员 wangwei；值班干部 chenjun"]
    with sessions() as session:
        shown = reads.show_case(session, actor=crew.principals["staff"], case_id=case.id)
    assert (shown.assignee_user_id, shown.cadre_user_id) == (crew.ids["worker"], crew.ids["cadre"])
    # The office confirms the roster's choice by dispatching without naming anyone.
    staff = crew.principals["staff"]
    with unit_of_work(sessions) as session:
        workflow.act(session, actor=staff, case_id=case.id, data=ActionIn(action=CaseAction.ACCEPT))
        done = workflow.act(session, actor=staff, case_id=case.id, data=ActionIn(action=CaseAction.DISPATCH))
    assert (done.state_label, done.assignee_user_id) == ("派遣", crew.ids["worker"])


def test_a_shift_that_has_ended_or_another_grid_does_not_take_the_case(
    sessions: sessionmaker[Session], crew: Crew, hour: datetime
) -> None:
    on_duty(
        sessions, crew, "worker", DutyRole.GRID_WORKER, hour - timedelta(hours=6), hours=7
    )  # ends at the present
    on_duty(sessions, crew, "worker2", DutyRole.GRID_WORKER, hour, place_id=crew.grid2_id)
    case = case_row(sessions, report(sessions, crew))
    assert (case.assignee_user_id, case.cadre_user_id) == (None, None)
    assert notes(sessions, case.id, "report") == [""]


def test_a_duty_change_reroutes_the_next_case(
    sessions: sessionmaker[Session], crew: Crew, hour: datetime
) -> None:
    shift_id = on_duty(sessions, crew, "worker", DutyRole.GRID_WORKER, hour)
    first = case_row(sessions, report(sessions, crew))
    with unit_of_work(sessions) as session:
        shifts.change_shift(
            session,
            actor=crew.principals["staff"],
            shift_id=shift_id,
            data=ShiftChange(user_id=crew.ids["worker2"]),
        )
    second = case_row(sessions, report(sessions, crew))
    assert (first.assignee_user_id, second.assignee_user_id) == (crew.ids["worker"], crew.ids["worker2"])
    assert notes(sessions, second.id, "report") == [
        "按值班表派给网格员 zhaoli；网格无人值班，待人工派遣"[:0] + "按值班表派给网格员 zhaoli"
    ]


def test_a_gate_alarm_goes_to_the_worker_of_the_gates_grid(
    sessions: sessionmaker[Session], crew: Crew, hour: datetime
) -> None:
    on_duty(sessions, crew, "worker", DutyRole.GRID_WORKER, hour)
    on_duty(sessions, crew, "cadre", DutyRole.CADRE, hour)
    alarm = AlarmCase(
        alarm_id=41,
        type="sos",
        community_id=crew.community_id,
        compound_id=crew.tree.jinjiang.id,
        gate_id=crew.gate_id,
        device_id="jjhy-gate1-sos",
        summary="锦江花园 1号门 一键报警",
    )
    with unit_of_work(sessions) as session:
        (case_id,) = reporting.open_from_alarms(session, actor=SYSTEM, alarms=[alarm])
    case = case_row(sessions, case_id)
    assert (case.grid_id, case.assignee_user_id, case.cadre_user_id) == (
        crew.grid_id,
        crew.ids["worker"],
        crew.ids["cadre"],
    )
    assert notes(sessions, case_id, "report") == [
        "锦江花园 1号门 一键报警；按值班表派给网格员 wangwei；值班干部 chenjun"
    ]
    # The grid's worker now sees it (the case carries the gate's grid), with who has it and the cadre named.
    with sessions() as session:
        shown = reads.show_case(session, actor=crew.principals["worker"], case_id=case_id)
    assert (shown.id, shown.assignee_name, shown.cadre_name) == (case_id, "wangwei", "chenjun")


def escalate_once(sessions: sessionmaker[Session], case_id: int) -> Case:
    due = case_row(sessions, case_id).due_at
    assert due is not None
    with unit_of_work(sessions) as session:
        assert workflow.escalate_overdue(session, actor=SYSTEM, now=due + timedelta(seconds=1)) == 1
    return case_row(sessions, case_id)


def test_an_overdue_case_climbs_the_chain_on_duty(
    sessions: sessionmaker[Session], crew: Crew, hour: datetime
) -> None:
    on_duty(sessions, crew, "worker", DutyRole.GRID_WORKER, hour)
    on_duty(sessions, crew, "leader", DutyRole.GRID_LEADER, hour)
    on_duty(sessions, crew, "cadre", DutyRole.CADRE, hour)
    on_duty(sessions, crew, "admin", DutyRole.SECRETARY, hour)
    case_id = report(sessions, crew, Category.SOS)
    climbed = [case_row(sessions, case_id).assignee_user_id]
    climbed += [escalate_once(sessions, case_id).assignee_user_id for _ in range(4)]
    assert climbed == [crew.ids[w] for w in ("worker", "leader", "cadre", "admin", "admin")]
    assert notes(sessions, case_id, "escalate") == [
        "超时未受理；转交网格长 sunqiang",
        "超时未受理；转交值班干部 chenjun",
        "超时未受理；转交社区书记 shuji",
        "超时未受理；仍由社区书记 shuji处理",
    ]
    assert case_row(sessions, case_id).level == 4


def test_the_chain_skips_an_empty_post_and_reads_the_roster_at_that_moment(
    sessions: sessionmaker[Session], crew: Crew, hour: datetime
) -> None:
    on_duty(sessions, crew, "worker", DutyRole.GRID_WORKER, hour)
    on_duty(sessions, crew, "cadre", DutyRole.CADRE, hour)
    case_id = report(sessions, crew, Category.SOS)
    # No 网格长 on duty: the first escalation goes straight to the cadre.
    assert escalate_once(sessions, case_id).assignee_user_id == crew.ids["cadre"]
    # A 网格长 coming on duty is below the case's level now, and no 书记 is on duty: it stays with the cadre.
    on_duty(
        sessions, crew, "leader", DutyRole.GRID_LEADER, hour, place_kind=PlaceKind.GRID, place_id=crew.grid_id
    )
    assert escalate_once(sessions, case_id).assignee_user_id == crew.ids["cadre"]
    assert notes(sessions, case_id, "escalate") == [
        "超时未受理；转交值班干部 chenjun",
        "超时未受理；仍由值班干部 chenjun处理",
    ]
    # The office escalating by hand hands it on the same way.
    on_duty(sessions, crew, "admin", DutyRole.SECRETARY, hour)
    with unit_of_work(sessions) as session:
        out = workflow.act(
            session,
            actor=crew.principals["staff"],
            case_id=case_id,
            data=ActionIn(action=CaseAction.ESCALATE, note="群众反映强烈"),
        )
    assert out.assignee_user_id == crew.ids["admin"]
    assert notes(sessions, case_id, "escalate")[-1] == "群众反映强烈；转交社区书记 shuji"


def test_with_no_grid_worker_on_duty_the_case_goes_to_the_grid_leader(
    sessions: sessionmaker[Session], crew: Crew, hour: datetime
) -> None:
    on_duty(sessions, crew, "leader", DutyRole.GRID_LEADER, hour)
    case = case_row(sessions, report(sessions, crew))
    assert (case.assignee_user_id, case.cadre_user_id) == (crew.ids["leader"], None)
    assert notes(sessions, case.id, "report") == ["按值班表派给网格长 sunqiang"]


def test_a_patrol_finding_goes_to_the_worker_of_its_cameras_grid(
    sessions: sessionmaker[Session], crew: Crew, hour: datetime
) -> None:
    on_duty(sessions, crew, "worker", DutyRole.GRID_WORKER, hour)
    with unit_of_work(sessions) as session:
        add_device(session, crew.gate_id, "jjhy-gate1-cam", "cam", "1号门 摄像机")
    with unit_of_work(sessions) as session:
        opened = reporting.report_from_patrol(
            session, actor=crew.principals["staff"], category=Category.SAFETY, title="北门有人翻越围墙",
            description="巡查时看到", device_id="jjhy-gate1-cam", evidence={},
        )  # fmt: skip
    case = case_row(sessions, opened.id)
    assert (case.source, case.grid_id, case.assignee_user_id) == ("patrol", crew.grid_id, crew.ids["worker"])
