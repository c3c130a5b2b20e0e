"""Cases on a real database: raised where the registry says, moved only as the loop and the roles allow,
every step on the record, out-of-reach cases answered like missing ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import AuditEntry
from jiayuan.cases.schemas import ActionIn, CaseIn, Category
from jiayuan.cases.service import reads, reporting, workflow
from jiayuan.cases.states import CaseAction, CaseState
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal, Role
from tests.factories import Tree, make_user


@pytest.fixture
def people(sessions: sessionmaker[Session], tree: Tree) -> dict[str, Principal]:
    """Accounts that exist (dispatch checks them): two staff, a grid worker, a resident of 101."""
    community = f"community:{tree.community.id}"
    ids = {
        "staff": make_user(sessions, "zhoumin", Role.STAFF, scopes=[community]),
        "other_staff": make_user(sessions, "lijing", Role.STAFF, scopes=[community]),
        "grid": make_user(sessions, "wangwei", Role.GRID, scopes=[f"grid:{tree.grid.id}", community]),
        "resident": make_user(sessions, "liuying", Role.RESIDENT, scopes=[f"household:{tree.h101.id}"]),
    }
    c = frozenset({tree.community.id})
    return {
        "staff": Principal(role=Role.STAFF, user_id=ids["staff"], username="zhoumin", community_ids=c),
        "other_staff": Principal(
            role=Role.STAFF, user_id=ids["other_staff"], username="lijing", community_ids=c
        ),
        "grid": Principal(
            role=Role.GRID,
            user_id=ids["grid"],
            username="wangwei",
            community_ids=c,
            grid_ids=frozenset({tree.grid.id}),
        ),
        "resident": Principal(
            role=Role.RESIDENT, user_id=ids["resident"], username="liuying", household_id=tree.h101.id
        ),
        "far_staff": Principal(
            role=Role.STAFF, user_id=999, username="far", community_ids=frozenset({tree.other_community.id})
        ),
    }


def report(db: Session, actor: Principal, **fields: object) -> int:
    data = CaseIn.model_validate({"category": "repair", "title": "楼道灯不亮"} | fields)
    return reporting.report_case(db, actor=actor, data=data).id


def take(db: Session, actor: Principal, case_id: int, action: str, **fields: object) -> CaseState:
    data = ActionIn.model_validate({"action": action} | fields)
    return workflow.act(db, actor=actor, case_id=case_id, data=data).state


def test_a_resident_report_runs_the_whole_loop_with_every_step_on_record(
    db: Session, tree: Tree, people: dict[str, Principal]
) -> None:
    case_id = report(db, people["resident"], household_id=tree.h102.id)  # a resident reports at home
    shown = reads.show_case(db, actor=people["staff"], case_id=case_id)
    assert shown.household_id == tree.h101.id and shown.grid_id == tree.grid.id
    assert shown.place.startswith("锦江花园 1号楼 1单元 101") and shown.reporter_name == "liuying"
    take(db, people["staff"], case_id, "accept")
    take(db, people["staff"], case_id, "dispatch", assignee_user_id=people["grid"].user_id)
    take(db, people["grid"], case_id, "arrive")
    take(db, people["grid"], case_id, "handle", note="已更换灯泡")
    take(db, people["staff"], case_id, "verify")
    assert take(db, people["staff"], case_id, "close") is CaseState.CLOSED
    history = reads.show_case(db, actor=people["staff"], case_id=case_id).steps
    assert [s.to_state.value for s in history] == [
        "reported", "accepted", "dispatched", "on_site", "handled", "verified", "closed"
    ]  # fmt: skip
    assert history[4].note == "已更换灯泡" and history[4].actor_name == "wangwei"
    audited = db.scalars(select(AuditEntry.action).where(AuditEntry.target_type == "case")).all()
    assert audited == ["case.report", "case.accept", "case.dispatch", "case.arrive", "case.handle",
                       "case.verify", "case.close"]  # fmt: skip


def test_the_handler_may_not_verify_their_own_work(
    db: Session, tree: Tree, people: dict[str, Principal]
) -> None:
    case_id = report(db, people["staff"], household_id=tree.h101.id)
    for action in ("accept", "dispatch", "arrive", "handle"):
        take(db, people["staff"], case_id, action, assignee_user_id=people["grid"].user_id)
    with pytest.raises(Forbidden, match="处置人以外"):
        take(db, people["staff"], case_id, "verify")
    assert take(db, people["other_staff"], case_id, "verify") is CaseState.VERIFIED


def test_a_wrong_action_names_what_the_state_allows(
    db: Session, tree: Tree, people: dict[str, Principal]
) -> None:
    case_id = report(db, people["staff"], household_id=tree.h101.id)
    with pytest.raises(Conflict) as refused:
        take(db, people["staff"], case_id, "handle")
    assert (
        refused.value.message == "事件处于“上报”，不能处置；此时可以：受理、升级"
        and refused.value.field == "action"
    )
    take(db, people["staff"], case_id, "accept")
    with pytest.raises(Invalid, match="退回须写明理由"):
        take(db, people["staff"], case_id, "return")
    assert take(db, people["staff"], case_id, "return", note="地址不全") is CaseState.REPORTED


def test_the_reporter_may_reopen_within_the_window_only(
    db: Session, tree: Tree, people: dict[str, Principal]
) -> None:
    case_id = report(db, people["resident"])
    for action in ("accept", "dispatch", "arrive", "handle"):
        take(db, people["staff"], case_id, action, assignee_user_id=people["grid"].user_id)
    take(db, people["other_staff"], case_id, "verify")
    take(db, people["staff"], case_id, "close")
    late = utcnow() + timedelta(days=workflow.REOPEN_DAYS + 1)
    with pytest.raises(Forbidden, match="不能再重开"):
        workflow.act(
            db, actor=people["resident"], case_id=case_id, data=ActionIn(action=CaseAction.REOPEN), now=late
        )
    assert take(db, people["resident"], case_id, "reopen", note="灯又坏了") is CaseState.ACCEPTED
    with pytest.raises(Forbidden):
        take(db, people["resident"], case_id, "dispatch", assignee_user_id=people["grid"].user_id)


def test_out_of_reach_cases_read_like_missing_ones_and_lists_stay_in_reach(
    db: Session, tree: Tree, people: dict[str, Principal]
) -> None:
    mine = report(db, people["resident"])
    elsewhere = report(db, people["staff"], household_id=tree.h201.id)  # 森海一期: outside the grid
    for actor in (people["far_staff"], people["grid"]):
        with pytest.raises(NotFound) as missing:
            reads.show_case(db, actor=actor, case_id=elsewhere if actor is people["grid"] else mine)
        with pytest.raises(NotFound) as absent:
            reads.show_case(db, actor=actor, case_id=424242)
        assert (missing.value.message, missing.value.field) == (absent.value.message, absent.value.field)
    listed = {c.id for c in reads.list_cases(db, actor=people["grid"], params=PageParams()).items}
    assert listed == {mine}
    assert {c.id for c in reads.list_cases(db, actor=people["resident"], params=PageParams()).items} == {mine}
    assert reads.list_cases(db, actor=people["far_staff"], params=PageParams()).total == 0
    police = Principal(
        role=Role.POLICE, user_id=5, username="police", community_ids=frozenset({tree.community.id})
    )
    assert reads.list_cases(db, actor=police, params=PageParams()).total == 0  # nothing shared with them
    volunteer = Principal(role=Role.VOLUNTEER, user_id=6, community_ids=frozenset({tree.community.id}))
    with pytest.raises(Forbidden):
        reads.list_cases(db, actor=volunteer, params=PageParams())


def test_the_reporter_is_hidden_from_workers_not_assigned(
    db: Session, tree: Tree, people: dict[str, Principal]
) -> None:
    case_id = report(db, people["resident"])
    assert reads.show_case(db, actor=people["grid"], case_id=case_id).reporter_name is None
    take(db, people["staff"], case_id, "accept")
    take(db, people["staff"], case_id, "dispatch", assignee_user_id=people["grid"].user_id)
    assert reads.show_case(db, actor=people["grid"], case_id=case_id).reporter_name == "liuying"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"household_id": 424242}, "household_id"),
        ({}, "household_id"),
        ({"community_id": 424242}, "community_id"),
    ],
)
def test_a_place_out_of_reach_or_missing_is_named(
    db: Session, tree: Tree, people: dict[str, Principal], fields: dict[str, int], field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        report(db, people["staff"], **fields)
    assert refused.value.field == field
    with pytest.raises(Invalid) as far:
        report(db, people["staff"], household_id=tree.h_far.id)
    assert far.value.message == f"户 #{tree.h_far.id} 不存在"


def test_a_dispatch_to_someone_outside_the_community_is_refused(
    db: Session, sessions: sessionmaker[Session], tree: Tree, people: dict[str, Principal]
) -> None:
    outsider = make_user(sessions, "waidi", Role.GRID, scopes=[f"community:{tree.other_community.id}"])
    case_id = report(db, people["staff"], household_id=tree.h101.id)
    take(db, people["staff"], case_id, "accept")
    for user_id in (outsider, 424242, None):
        with pytest.raises(Invalid) as refused:
            take(db, people["staff"], case_id, "dispatch", assignee_user_id=user_id)
        assert refused.value.field == "assignee_user_id"


def test_an_unknown_category_is_refused_by_the_schema() -> None:
    with pytest.raises(ValueError, match="category"):
        CaseIn.model_validate({"category": "ufo", "title": "不明飞行物"})
    assert Category.SOS.label == "一键报警"


def test_escalation_raises_the_level_and_keeps_the_state(
    db: Session, tree: Tree, people: dict[str, Principal]
) -> None:
    case_id = report(db, people["staff"], household_id=tree.h101.id)
    take(db, people["staff"], case_id, "escalate", note="久拖未办")
    shown = reads.show_case(db, actor=people["staff"], case_id=case_id)
    assert (shown.state, shown.level) == (CaseState.REPORTED, 1)


def test_nothing_is_half_written_when_an_action_is_refused(
    sessions: sessionmaker[Session], tree: Tree, people: dict[str, Principal]
) -> None:
    with unit_of_work(sessions) as session:
        case_id = report(session, people["staff"], household_id=tree.h101.id)
    with pytest.raises(Conflict), unit_of_work(sessions) as session:
        take(session, people["staff"], case_id, "close")
    with unit_of_work(sessions) as session:
        assert len(reads.show_case(session, actor=people["staff"], case_id=case_id).steps) == 1
