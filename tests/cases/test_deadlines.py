"""Time limits: every step of every category is due by the table (a community's own limits first);
past it the case escalates from the database, once per worker, again while nobody acts."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.cases.deadlines import DEFAULT_MINUTES
from jiayuan.cases.models import Case, CaseStep
from jiayuan.cases.schemas import ActionIn, CaseIn, Category, DeadlineIn
from jiayuan.cases.service import reporting, workflow
from jiayuan.cases.states import CaseAction, CaseState
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Forbidden, Invalid, NotFound
from jiayuan.kernel.principal import Principal, Role
from tests.factories import Tree, build_tree

SYSTEM = Principal.system()


@pytest.fixture
def tree(sessions: sessionmaker[Session]) -> Tree:
    with unit_of_work(sessions) as session:
        return build_tree(session)


def staff(tree: Tree, role: Role = Role.STAFF) -> Principal:
    return Principal(role=role, user_id=1, username="zhoumin", community_ids=frozenset({tree.community.id}))


def raise_case(sessions: sessionmaker[Session], tree: Tree, category: str) -> int:
    data = CaseIn.model_validate({"category": category, "title": "测试事件", "household_id": tree.h101.id})
    with unit_of_work(sessions) as session:
        return reporting.report_case(session, actor=staff(tree), data=data).id


def case_of(sessions: sessionmaker[Session], case_id: int) -> Case:
    with sessions() as session:
        found = session.get(Case, case_id)
        assert found is not None
        session.expunge(found)
        return found


def near(due: datetime | None, expected_minutes: int, since: datetime) -> bool:
    return due is not None and abs(due - since - timedelta(minutes=expected_minutes)) < timedelta(seconds=30)


@pytest.mark.parametrize("category", list(Category))
def test_each_category_is_due_by_its_table(
    sessions: sessionmaker[Session], tree: Tree, category: Category
) -> None:
    case_id = raise_case(sessions, tree, category.value)
    case = case_of(sessions, case_id)
    assert near(case.due_at, DEFAULT_MINUTES[category][CaseAction.ACCEPT], case.reported_at)
    accepted_at = utcnow()
    with unit_of_work(sessions) as session:
        workflow.act(session, actor=staff(tree), case_id=case_id, data=ActionIn(action=CaseAction.ACCEPT))
    assert near(
        case_of(sessions, case_id).due_at, DEFAULT_MINUTES[category][CaseAction.DISPATCH], accepted_at
    )


def test_an_alarm_not_accepted_in_two_minutes_escalates_and_again_while_nobody_acts(
    sessions: sessionmaker[Session], tree: Tree
) -> None:
    case_id = raise_case(sessions, tree, "sos")
    reported = case_of(sessions, case_id).reported_at
    with unit_of_work(sessions) as session:
        assert workflow.escalate_overdue(session, actor=SYSTEM, now=reported + timedelta(seconds=119)) == 0
    with unit_of_work(sessions) as session:
        assert workflow.escalate_overdue(session, actor=SYSTEM, now=reported + timedelta(seconds=121)) == 1
    case = case_of(sessions, case_id)
    assert (case.level, case.state) == (1, "reported")
    with unit_of_work(sessions) as session:
        assert workflow.escalate_overdue(session, actor=SYSTEM, now=reported + timedelta(seconds=200)) == 0
        assert workflow.escalate_overdue(session, actor=SYSTEM, now=reported + timedelta(seconds=250)) == 1
    with sessions() as session:
        notes = session.scalars(select(CaseStep.note).where(CaseStep.action == "escalate")).all()
    assert notes == ["超时未受理", "超时未受理"]
    with unit_of_work(sessions) as session:
        workflow.act(session, actor=staff(tree), case_id=case_id, data=ActionIn(action=CaseAction.ACCEPT))
    assert case_of(sessions, case_id).level == 2


def test_a_closed_case_is_never_due(sessions: sessionmaker[Session], tree: Tree) -> None:
    case_id = raise_case(sessions, tree, "repair")
    with unit_of_work(sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.state, case.due_at = CaseState.CLOSED.value, None
    with unit_of_work(sessions) as session:
        assert workflow.escalate_overdue(session, actor=SYSTEM, now=utcnow() + timedelta(days=60)) == 0


def test_two_workers_never_escalate_the_same_case_twice(
    sessions: sessionmaker[Session], tree: Tree, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: two workers cannot claim at once")
    ids = [raise_case(sessions, tree, "sos") for _ in range(30)]
    later = utcnow() + timedelta(minutes=3)
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def worker() -> None:
        with unit_of_work(sessions) as session:
            barrier.wait()
            counts.append(workflow.escalate_overdue(session, actor=SYSTEM, now=later, limit=20))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == len(ids) and all(0 < c <= 20 for c in counts)
    assert {case_of(sessions, i).level for i in ids} == {1}


def test_admins_set_their_own_limits_and_no_one_else(sessions: sessionmaker[Session], tree: Tree) -> None:
    admin = staff(tree, Role.ADMIN)
    change = DeadlineIn(category=Category.REPAIR, step=CaseAction.ACCEPT, minutes=120)
    with unit_of_work(sessions) as session:
        out = workflow.set_deadline(session, actor=admin, community_id=tree.community.id, data=change)
    assert (out.minutes, out.default_minutes) == (120, 24 * 60)
    case_id = raise_case(sessions, tree, "repair")
    case = case_of(sessions, case_id)
    assert case.due_at is not None and case.due_at - case.reported_at <= timedelta(minutes=121)
    with unit_of_work(sessions) as session, pytest.raises(Forbidden):
        workflow.set_deadline(session, actor=staff(tree), community_id=tree.community.id, data=change)
    # Another community's limits read as missing, for a change as for a read (no existence oracle).
    with unit_of_work(sessions) as session, pytest.raises(NotFound):
        workflow.set_deadline(session, actor=admin, community_id=tree.other_community.id, data=change)
    with unit_of_work(sessions) as session, pytest.raises(NotFound):
        workflow.deadline_table(session, actor=admin, community_id=tree.other_community.id)
    with unit_of_work(sessions) as session, pytest.raises(Invalid, match="没有时限"):
        bad = DeadlineIn(category=Category.REPAIR, step=CaseAction.CLOSE, minutes=5)
        workflow.set_deadline(session, actor=admin, community_id=tree.community.id, data=bad)
    with sessions() as session:
        table = workflow.deadline_table(session, actor=admin, community_id=tree.community.id)
    assert len(table) == len(Category) * 5
    assert [d.minutes for d in table if d.category is Category.REPAIR and d.step is CaseAction.ACCEPT] == [
        120
    ]
