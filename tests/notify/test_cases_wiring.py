"""A case opened, dispatched, escalated or closed puts its notice in the outbox in the case's own
transaction: to every configured group robot, naming the case, category, place and state, with a link to
the console page, and never a phone or ID number."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.schemas import MobileIn
from jiayuan.accounts.service import users
from jiayuan.cases.schemas import ActionIn, AlarmCase, CaseIn
from jiayuan.cases.service import reads, reporting, workflow
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal, Role
from jiayuan.notify import service as notify
from jiayuan.notify.models import OutboxMessage
from jiayuan.notify.schemas import MessageOut, Routing
from jiayuan.notify.states import ChannelName, MessageState
from tests.factories import Tree, build_tree, make_user

SYSTEM = Principal.system()
ROBOTS = Routing(group=(ChannelName.WECOM, ChannelName.DINGTALK), sms=True, console_url="https://jy.example")


@pytest.fixture
def routing() -> Iterator[None]:
    notify.configure(ROBOTS)
    yield
    notify.configure(Routing())


@pytest.fixture
def tree(db: Session) -> Tree:
    built = build_tree(db)
    db.commit()
    return built


@pytest.fixture
def staff(sessions: sessionmaker[Session], tree: Tree) -> Principal:
    user_id = make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    return Principal(
        role=Role.STAFF, user_id=user_id, username="zhoumin", community_ids=frozenset({tree.community.id})
    )


@pytest.fixture
def grid_worker(sessions: sessionmaker[Session], tree: Tree) -> int:
    scopes = [f"grid:{tree.grid.id}", f"community:{tree.community.id}"]
    return make_user(sessions, "wangwei", Role.GRID, scopes=scopes)


def outbox(session: Session) -> list[MessageOut]:
    page = notify.list_messages(session, actor=SYSTEM, params=PageParams(size=200))
    return list(reversed(page.items))


def act(session: Session, actor: Principal, case_id: int, action: str, **fields: object) -> None:
    workflow.act(
        session, actor=actor, case_id=case_id, data=ActionIn.model_validate({"action": action} | fields)
    )


def test_the_loop_reaches_the_group_robots(
    db: Session, routing: None, tree: Tree, staff: Principal, grid_worker: int
) -> None:
    data = CaseIn(category="repair", title="楼道灯不亮，请联系 13812345678", household_id=tree.h101.id)
    case_id = reporting.report_case(db, actor=staff, data=data).id
    opened = outbox(db)
    assert [(m.channel, m.state) for m in opened] == [
        (ChannelName.WECOM, MessageState.PENDING),
        (ChannelName.DINGTALK, MessageState.PENDING),
    ]
    first = opened[0]
    assert first.title == f"【新事件】设施报修 #{case_id}"
    assert (
        first.subject_type == "case"
        and first.subject_id == case_id
        and first.community_id == tree.community.id
    )
    lines = first.text.splitlines()
    assert lines[0] == "事件：楼道灯不亮，请联系 138****5678"
    assert lines[1:4] == [
        "类别：设施报修",
        f"位置：{reads.show_case(db, actor=staff, case_id=case_id).place}",
        "状态：上报",
    ]
    assert len(lines) == 4 and first.link == f"https://jy.example/console/cases/{case_id}"
    assert "13812345678" not in first.text

    act(db, staff, case_id, "accept")
    assert len(outbox(db)) == 2, "accepting is not announced"
    act(db, staff, case_id, "dispatch", assignee_user_id=grid_worker)
    act(db, staff, case_id, "escalate")
    act(db, staff, case_id, "arrive")
    act(db, staff, case_id, "handle")
    db.commit()
    titles = [m.title for m in outbox(db)]
    # The dispatched worker is told in person first; an escalation nobody on the roster takes over is
    # told to the robots only.
    assert (
        titles[2:]
        == [f"【派给您的事件】设施报修 #{case_id}"]
        + [f"【事件派遣】设施报修 #{case_id}"] * 2
        + [f"【事件升级】设施报修 #{case_id}"] * 2
    )
    assert outbox(db)[-1].text.splitlines()[3] == "状态：派遣（已升级 1 级）"


def test_a_community_with_its_own_robot_is_told_there(
    db: Session, routing: None, tree: Tree, staff: Principal
) -> None:
    notify.configure(ROBOTS.model_copy(update={"communities": {tree.community.id: (ChannelName.DINGTALK,)}}))
    reporting.report_case(
        db, actor=staff, data=CaseIn(category="noise", title="装修噪音", household_id=tree.h101.id)
    )
    (only,) = outbox(db)
    assert only.channel is ChannelName.DINGTALK and only.target == f"community:{tree.community.id}"
    far = Principal(role=Role.STAFF, username="far", community_ids=frozenset({tree.other_community.id}))
    reporting.report_case(
        db, actor=far, data=CaseIn(category="noise", title="别处噪音", community_id=tree.other_community.id)
    )
    assert [(m.channel, m.target) for m in outbox(db)[1:]] == [
        (ChannelName.WECOM, ""),
        (ChannelName.DINGTALK, ""),
    ]


def test_a_change_rolled_back_sends_nothing(
    sessions: sessionmaker[Session], routing: None, tree: Tree, staff: Principal
) -> None:
    data = CaseIn(category="noise", title="夜间施工噪音", household_id=tree.h101.id)
    with pytest.raises(RuntimeError), unit_of_work(sessions) as session:
        reporting.report_case(session, actor=staff, data=data)
        assert len(outbox(session)) == 2
        raise RuntimeError("the request failed after the case was written")
    with sessions() as session:
        assert outbox(session) == []


def test_overdue_and_closed_cases_are_announced(
    db: Session,
    sessions: sessionmaker[Session],
    routing: None,
    tree: Tree,
    staff: Principal,
    grid_worker: int,
) -> None:
    data = CaseIn(category="sanitation", title="垃圾未清运", household_id=tree.h101.id)
    case_id = reporting.report_case(db, actor=staff, data=data).id
    assert workflow.escalate_overdue(db, actor=SYSTEM, now=utcnow() + timedelta(days=2)) == 1
    for action in ("accept", "dispatch", "arrive", "handle"):
        act(db, staff, case_id, action, assignee_user_id=grid_worker)
    other = make_user(sessions, "lijing", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    checker = Principal(role=Role.STAFF, user_id=other, username="lijing", community_ids=staff.community_ids)
    act(db, checker, case_id, "verify")
    act(db, staff, case_id, "close")
    robots = [m for m in outbox(db) if m.channel is not ChannelName.SMS]
    headings = [m.title.split("】")[0] + "】" for m in robots[::2]]
    assert headings == ["【新事件】", "【事件升级】", "【事件派遣】", "【事件结案】"]
    assert outbox(db)[-1].text.splitlines()[3] == "状态：结案（已升级 1 级）"


def test_a_gate_alarm_announces_its_case(db: Session, routing: None, tree: Tree) -> None:
    sos = AlarmCase(
        41, "sos", tree.community.id, tree.jinjiang.id, None, "jjhy-gate1-sos", "锦江花园 1号门 一键报警"
    )
    (case_id,) = reporting.open_from_alarms(db, actor=SYSTEM, alarms=[sos])
    assert reporting.open_from_alarms(db, actor=SYSTEM, alarms=[sos]) == []
    messages = outbox(db)
    assert [m.title for m in messages] == [f"【新事件】一键报警 #{case_id}"] * 2
    assert "位置：锦江花园 1号门 一键报警" in messages[0].text and "状态：上报" in messages[0].text


def test_without_a_provider_notices_are_shown_on_the_console(
    db: Session, tree: Tree, staff: Principal
) -> None:
    notify.configure(Routing())
    case_id = reporting.report_case(
        db, actor=staff, data=CaseIn(category="safety", title="消防通道堵塞", community_id=tree.community.id)
    ).id
    (shown,) = outbox(db)
    assert shown.channel is ChannelName.CONSOLE and shown.state is MessageState.SENT
    assert shown.title == f"【新事件】安全隐患 #{case_id}"


def test_the_person_who_has_a_case_is_texted_at_the_mobile_their_account_has_when_sent(
    db: Session, routing: None, tree: Tree, staff: Principal, grid_worker: int, vault: PiiVault
) -> None:
    data = CaseIn(category="repair", title="路灯不亮", household_id=tree.h101.id)
    case_id = reporting.report_case(db, actor=staff, data=data).id
    act(db, staff, case_id, "accept")
    act(db, staff, case_id, "dispatch", assignee_user_id=grid_worker)
    (sms,) = [m for m in outbox(db) if m.channel is ChannelName.SMS]
    assert sms.title == f"【派给您的事件】设施报修 #{case_id}" and sms.target == "wangwei（本人）"
    stored = db.scalars(select(OutboxMessage.target).where(OutboxMessage.channel == "sms")).all()
    assert stored == [f"user:{grid_worker}"]  # no number in the outbox

    # The number is the one on the account when the message is sent (set after it was queued).
    users.set_mobile(
        db, actor=SYSTEM, user_id=grid_worker, data=MobileIn(mobile="139 0000 1111"), vault=vault
    )
    with db.begin_nested():
        claimed = notify.claim(
            db, actor=SYSTEM, channel=ChannelName.SMS, now=utcnow(), lease=timedelta(60), limit=5
        )
    assert [c.target for c in claimed] == ["13900001111"]
    # Going on site is not announced to anyone.
    act(db, staff, case_id, "arrive")
    assert len([m for m in outbox(db) if m.channel is ChannelName.SMS]) == 1


def test_a_sealed_number_is_opened_only_for_the_sender(db: Session, routing: None) -> None:
    message_id = notify.enqueue(
        db,
        actor=SYSTEM,
        channel=ChannelName.SMS,
        title="验证码",
        text="123456",
        community_id=1,
        target="13900001111",
    )
    stored = db.scalars(select(OutboxMessage.target).where(OutboxMessage.id == message_id)).all()
    assert len(stored) == 1 and stored[0].startswith("sealed:") and "00001111" not in stored[0]
    assert [m.target for m in outbox(db)] == ["139****1111"]
    with db.begin_nested():
        claimed = notify.claim(
            db, actor=SYSTEM, channel=ChannelName.SMS, now=utcnow(), lease=timedelta(60), limit=5
        )
    assert [c.target for c in claimed] == ["13900001111"]
