"""The outbox on a real database with a real local receiver: retries with backoff until the provider
comes back, one delivery only, the failed state after the last attempt, nothing lost across a restart
or a sender that dies mid-send, and two senders on PostgreSQL never sending one message twice."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Forbidden
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal, Role
from jiayuan.notify import service
from jiayuan.notify.channels import Channel, DingTalkRobot, SmsGateway, WeComRobot
from jiayuan.notify.schemas import MessageOut
from jiayuan.notify.sender import Pruner, Sender
from jiayuan.notify.states import ChannelName, MessageState, RetryPolicy
from tests.notify.receiver import ERRCODE, HANG, HTTP_500, receiving

SYSTEM = Principal.system()
POLICY = RetryPolicy(max_attempts=5, base_s=10, cap_s=25, jitter=0.5)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=0.3) as made:
        yield made


def put(
    sessions: sessionmaker[Session],
    title: str = "【新事件】一键报警 #1",
    *,
    community_id: int = 1,
    now: datetime | None = None,
    channel: ChannelName = ChannelName.WECOM,
    target: str = "",
) -> int:
    with unit_of_work(sessions) as session:
        return service.enqueue(
            session,
            actor=SYSTEM,
            channel=channel,
            target=target,
            title=title,
            text="位置：锦江花园 1号门",
            community_id=community_id,
            subject_type="case",
            subject_id=1,
            now=now,
        )


def row(sessions: sessionmaker[Session], message_id: int) -> MessageOut:
    with sessions() as session:
        page = service.list_messages(session, actor=SYSTEM, params=PageParams(size=200))
    return next(m for m in page.items if m.id == message_id)


SECRET = "SECtest-dingtalk-secret"
PHONE = "13800138000"


def channel_at(name: ChannelName, base: str, client: httpx.Client) -> Channel:
    """The channel of that name, its provider being the local receiver."""
    if name is ChannelName.WECOM:
        return WeComRobot(url=f"{base}/cgi-bin/webhook/send?key=k", client=client)
    if name is ChannelName.DINGTALK:
        return DingTalkRobot(url=f"{base}/robot/send?access_token=t", secret=SECRET, client=client)
    template = {"mobile": "{phone}", "content": "{text}"}
    return SmsGateway(
        url=f"{base}/sms", body_template=template, auth_header=("X-Api-Key", "sms-k"), client=client
    )


@pytest.mark.parametrize(
    ("name", "script", "errors"),
    [
        (ChannelName.WECOM, [HTTP_500, HANG, ERRCODE], ("HTTP 500", "超时", "errcode 310000")),
        (ChannelName.DINGTALK, [HTTP_500, HANG, ERRCODE], ("HTTP 500", "超时", "errcode 310000")),
        (ChannelName.SMS, [HTTP_500, HANG, HTTP_500], ("HTTP 500", "超时", "HTTP 500")),
    ],
)
def test_a_message_outlasts_an_outage_and_arrives_once(
    sessions: sessionmaker[Session],
    client: httpx.Client,
    name: ChannelName,
    script: list[str],
    errors: tuple[str, ...],
) -> None:
    clock = Clock()
    with receiving(script) as provider:
        target = PHONE if name is ChannelName.SMS else ""
        message_id = put(sessions, now=clock.now, channel=name, target=target)
        sender = Sender(sessions, channel_at(name, provider.base, client), POLICY, clock=clock)
        for attempt, error in enumerate(errors, start=1):
            assert sender.run_once() == {MessageState.PENDING: 1}
            waiting = row(sessions, message_id)
            assert waiting.state is MessageState.PENDING and waiting.attempts == attempt
            assert error in waiting.last_error
            # The n-th retry waits min(cap, base · 2^(n-1)), less up to half of it as jitter: 10, 20, 25.
            ceiling = min(25, 10 * 2 ** (attempt - 1))
            delay = (waiting.due_at - clock.now).total_seconds()
            assert ceiling * 0.5 <= delay <= ceiling
            clock.now += timedelta(seconds=delay - 1)
            assert sender.run_once() == {}, "tried again before its time"
            clock.now += timedelta(seconds=1)
        assert sender.run_once() == {MessageState.SENT: 1}
        assert sender.run_once() == {}
        clock.now += timedelta(hours=1)
        assert sender.run_once() == {}
    sent = row(sessions, message_id)
    assert sent.state is MessageState.SENT and sent.attempts == 4 and sent.last_error == ""
    assert sent.sent_at == clock.now - timedelta(hours=1)
    assert [r.behaviour for r in provider.requests] == [*script, "ok"]
    (delivered,) = provider.delivered()
    if name is ChannelName.WECOM:
        assert delivered.body == {
            "msgtype": "markdown",
            "markdown": {"content": "### 【新事件】一键报警 #1\n位置：锦江花园 1号门"},
        }
    elif name is ChannelName.DINGTALK:
        timestamp = delivered.query["timestamp"]
        expected = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
        assert delivered.query["sign"] == base64.b64encode(expected).decode()
        assert abs(int(timestamp) / 1000 - time.time()) < 60
        assert delivered.body["markdown"]["title"] == "【新事件】一键报警 #1"
    else:
        assert delivered.headers["x-api-key"] == "sms-k"
        assert delivered.body == {"mobile": PHONE, "content": "【新事件】一键报警 #1\n位置：锦江花园 1号门"}


def test_the_last_allowed_attempt_ends_in_failed(
    sessions: sessionmaker[Session], client: httpx.Client
) -> None:
    clock = Clock()
    policy = RetryPolicy(max_attempts=3, base_s=1, cap_s=1)
    with receiving([HTTP_500] * 10) as provider:
        message_id = put(sessions, now=clock.now)
        sender = Sender(
            sessions,
            WeComRobot(url=f"{provider.base}/send?key=robot-key", client=client),
            policy,
            clock=clock,
        )
        outcomes = []
        for _ in range(6):
            outcomes.append(sender.run_once())
            clock.now += timedelta(seconds=2)
    assert outcomes == [
        {MessageState.PENDING: 1},
        {MessageState.PENDING: 1},
        {MessageState.FAILED: 1},
        {},
        {},
        {},
    ]
    failed = row(sessions, message_id)
    assert failed.state is MessageState.FAILED and failed.attempts == 3
    assert failed.last_error == "服务商返回 HTTP 500"
    assert len(provider.requests) == 3


def test_a_restart_loses_nothing(database_url: str, client: httpx.Client) -> None:
    """A sender stopped between attempts, and one that died after claiming, leave their messages to the
    next sender (a new engine, as after a restart) which delivers each once."""
    clock = Clock()
    lease = timedelta(seconds=60)
    with receiving([HTTP_500]) as provider:
        robot = WeComRobot(url=f"{provider.base}/send?key=k", client=client)
        first: Engine = make_engine(database_url)
        before = make_sessionmaker(first)
        retried = put(before, "【事件派遣】A", now=clock.now)
        assert Sender(before, robot, POLICY, lease=lease, clock=clock).run_once() == {MessageState.PENDING: 1}
        orphan = put(before, "【事件派遣】B", now=clock.now)
        with unit_of_work(before) as session:  # claimed, then the process died before sending
            (claimed,) = service.claim(
                session, actor=SYSTEM, channel=ChannelName.WECOM, now=clock.now, lease=lease, limit=10
            )
        first.dispose()

        second = make_engine(database_url)
        try:
            after = make_sessionmaker(second)
            sender = Sender(after, robot, POLICY, lease=lease, clock=clock)
            clock.now += timedelta(seconds=11)  # the retry is due; the orphan is still leased
            assert sender.run_once() == {MessageState.SENT: 1}
            clock.now += lease
            assert sender.run_once() == {MessageState.SENT: 1}
            # The dead sender's settle, had it come back, is refused: the row is no longer its attempt.
            with unit_of_work(after) as session:
                late = service.settle(
                    session, actor=SYSTEM, delivery=claimed, error="x", now=clock.now, policy=POLICY
                )
            assert late is None
            assert row(after, orphan).state is MessageState.SENT and row(after, orphan).attempts == 2
            assert row(after, retried).state is MessageState.SENT
        finally:
            second.dispose()
    titles = [r.body["markdown"]["content"].splitlines()[0] for r in provider.delivered()]
    assert sorted(titles) == ["### 【事件派遣】A", "### 【事件派遣】B"]


def test_two_senders_on_postgresql_deliver_each_message_once(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: the outbox is sent by one process there")
    with receiving() as provider, httpx.Client(timeout=2) as client:
        engines = [make_engine(database_url) for _ in range(2)]
        for engine in engines:
            # Hold each claim open a moment after its query, so the two senders' claims overlap.
            event.listen(engine, "after_cursor_execute", _linger_after_claim)
        try:
            factories = [make_sessionmaker(e) for e in engines]
            ids = [put(factories[0], f"消息 {n:03d}") for n in range(80)]
            robot = WeComRobot(url=f"{provider.base}/send?key=k", client=client)
            sent = [0, 0]
            start = threading.Barrier(2)

            def drain(index: int) -> None:
                sender = Sender(factories[index], robot, POLICY, batch=3)
                start.wait()
                while outcome := sender.run_once():
                    sent[index] += outcome.get(MessageState.SENT, 0)

            threads = [threading.Thread(target=drain, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            states = {row(factories[0], i).attempts for i in ids}
        finally:
            for e in engines:
                e.dispose()
    titles = [r.body["markdown"]["content"].splitlines()[0] for r in provider.requests]
    assert sorted(titles) == [f"### 消息 {n:03d}" for n in range(80)]
    assert sum(sent) == 80 and min(sent) > 0, sent
    assert states == {1}


def _linger_after_claim(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
    if statement.lstrip().startswith("SELECT") and "ORDER BY notify_outbox.due_at" in statement:
        time.sleep(0.03)


def test_console_messages_are_stored_as_sent(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        message_id = service.enqueue(
            session,
            actor=SYSTEM,
            channel=ChannelName.CONSOLE,
            title="【新事件】噪音扰民 #3",
            text="…",
            community_id=1,
        )
    shown = row(sessions, message_id)
    assert shown.state is MessageState.SENT and shown.sent_at is not None and shown.channel_label == "控制台"


def test_the_outbox_is_read_within_reach(sessions: sessionmaker[Session]) -> None:
    mine, theirs = put(sessions, "甲", community_id=1), put(sessions, "乙", community_id=2)
    staff = Principal(role=Role.STAFF, user_id=5, username="zhoumin", community_ids=frozenset({1}))
    with sessions() as session:
        page = service.list_messages(session, actor=staff, params=PageParams())
        assert [m.id for m in page.items] == [mine] and page.total == 1
        newest = service.list_messages(session, actor=SYSTEM, params=PageParams(size=1))
        assert [m.id for m in newest.items] == [theirs] and newest.total == 2
        for role in (Role.GRID, Role.RESIDENT, Role.POLICE):
            with pytest.raises(Forbidden, match="无权查看消息"):
                service.list_messages(
                    session, actor=Principal(role=role, community_ids=frozenset({1})), params=PageParams()
                )
        with pytest.raises(Forbidden):
            service.claim(
                session, actor=staff, channel=ChannelName.WECOM, now=utcnow(), lease=timedelta(1), limit=1
            )


def test_phone_and_id_numbers_never_leave_in_a_message() -> None:
    text = "居民 13812345678 报告，身份证 410181199001011234 ，房号 101，工单 20261205"
    assert service.redact(text) == "居民 138****5678 报告，身份证 410181********4 ，房号 101，工单 20261205"


def test_old_settled_messages_are_pruned_and_pending_ones_kept(
    sessions: sessionmaker[Session], client: httpx.Client
) -> None:
    clock = Clock()
    old = clock.now - timedelta(days=91)
    with receiving([HTTP_500]) as provider:
        # Claimed oldest first: the first meets the 500 and fails for good, the second is sent.
        failed, sent, waiting = (put(sessions, t, now=old) for t in ("失败", "已发送", "仍在重试"))
        recent = put(sessions, "新近的", now=clock.now)
        robot = WeComRobot(url=f"{provider.base}/send?key=k", client=client)
        one_try = Sender(sessions, robot, RetryPolicy(max_attempts=1), clock=clock, batch=2)
        assert one_try.run_once() == {MessageState.FAILED: 1, MessageState.SENT: 1}
    assert (
        row(sessions, failed).state is MessageState.FAILED and row(sessions, sent).state is MessageState.SENT
    )
    pruner = Pruner(sessions, keep=timedelta(days=90), clock=lambda: clock.now)
    assert pruner.run_once() == 2
    with sessions() as session:
        kept = {m.id for m in service.list_messages(session, actor=SYSTEM, params=PageParams()).items}
    assert kept == {waiting, recent}
    assert pruner.run_once() == 0
