"""Use cases of the notify domain: put messages in the outbox (in the caller's transaction), claim and
settle them for a sender, list them for the console.

The routing (which group robots are configured, the console's address) is set once per process by the
entry point from the settings; without it every notice goes to the console.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from jiayuan.accounts.service import users
from jiayuan.bus.bus import publish_on_commit
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.i18n import N_, Text
from jiayuan.kernel.numbers import row_id
from jiayuan.kernel.paging import Page, PageParams
from jiayuan.kernel.principal import Principal
from jiayuan.notify import policies, repository
from jiayuan.notify.events import MessageSettled
from jiayuan.notify.models import OutboxMessage
from jiayuan.notify.schemas import CaseNotice, Delivery, MessageOut, Routing, community_robot
from jiayuan.notify.states import ChannelName, MessageState, RetryPolicy

_routing = Routing()
_vault: PiiVault | None = None
# An SMS target (a mobile number) is kept sealed with the PII key, like every phone the platform stores;
# a person's notice names the account instead, whose mobile is read when the message is sent.
_SEALED = "sealed:"
PERSON_TARGET = "user:"
_SMS_CONTEXT = "notify.sms"

# Which case changes are announced, and the words for them.
ANNOUNCED = {"report": "新事件", "dispatch": "事件派遣", "escalate": "事件升级", "close": "事件结案"}
# Which of them are also told to the person who has the case then, and how.
_TO_ASSIGNEE = {"report": "派给您的事件", "dispatch": "派给您的事件", "escalate": "事件升级，转交给您"}
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")


def configure(routing: Routing, vault: PiiVault | None = None) -> None:
    """Set this process's routing and the key SMS targets are sealed with (entry points call it once,
    from the settings)."""
    global _routing, _vault  # one routing per process, like the settings it comes from
    _routing = routing
    _vault = vault or _vault


def _person(target: str) -> int | None:
    """The account a person's notice is for (`user:17`), or None for any other target."""
    return row_id(target.removeprefix(PERSON_TARGET)) if target.startswith(PERSON_TARGET) else None


def _seal(channel: ChannelName, target: str) -> str:
    if channel is not ChannelName.SMS or not target or target.startswith(PERSON_TARGET):
        return target
    if _vault is None:
        raise RuntimeError("notify.configure() was given no PII vault: an SMS target cannot be stored")
    return _SEALED + _vault.encrypt(target, context=_SMS_CONTEXT)


def _unsealed(target: str) -> str:
    """The target in full, for the sender alone."""
    if not target.startswith(_SEALED):
        return target
    if _vault is None:
        raise RuntimeError("notify.configure() was given no PII vault: an SMS target cannot be read")
    return _vault.decrypt(target.removeprefix(_SEALED), context=_SMS_CONTEXT)


def _shown_target(target: str) -> str | Text:
    """The target as the 消息 page shows it: a mobile masked, and never the sealed text."""
    if target.startswith(_SEALED):
        return redact(_unsealed(target)) if _vault is not None else Text(N_("（已加密）"))
    return redact(target)


def redact(text: str) -> str:
    """A text with mobile numbers and ID numbers masked: a message leaves the platform for group chats
    and phones, where neither belongs."""
    text = _ID_NUMBER.sub(lambda m: f"{m[1]}********{m[2][-1]}", text)
    return _MOBILE.sub(lambda m: f"{m[1]}****{m[2]}", text)


def enqueue(
    session: Session,
    *,
    actor: Principal,
    channel: ChannelName,
    title: str,
    text: str,
    community_id: int | None,
    target: str = "",
    link: str = "",
    subject_type: str = "",
    subject_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """Put one message in the outbox in the caller's transaction; the console channel needs no sender
    and is stored as sent. The id of the row."""
    del actor  # the change that causes the message is the caller's, audited there
    now = now or utcnow()
    console = channel is ChannelName.CONSOLE
    row = OutboxMessage(
        channel=channel.value,
        target=_seal(channel, target),
        title=redact(title)[:128],
        text=redact(text)[:2000],
        link=link[:300],
        subject_type=subject_type,
        subject_id=subject_id,
        community_id=community_id,
        state=(MessageState.SENT if console else MessageState.PENDING).value,
        attempts=1 if console else 0,
        due_at=now,
        last_error="",
        created_at=now,
        sent_at=now if console else None,
    )
    session.add(row)
    session.flush()
    return row.id


def case_changed(session: Session, *, actor: Principal, notice: CaseNotice) -> list[int]:
    """Announce a case being opened, dispatched, escalated or closed to the community's group robots, and
    tell the person who has it after an opening, a dispatch or an escalation (`personal`). Other actions
    are not announced. The ids of the messages written."""
    heading = ANNOUNCED.get(notice.action)
    if heading is None:
        return []
    title = f"【{heading}】{notice.category_label} #{notice.case_id}"
    level = f"（已升级 {notice.level} 级）" if notice.level else ""
    lines = [
        f"事件：{notice.title}",
        f"类别：{notice.category_label}",
        f"位置：{notice.place or '未填写'}",
        f"状态：{notice.state_label}{level}",
    ]
    text = "\n".join(lines)
    own = _routing.communities.get(notice.community_id)
    if own:
        recipients = [(channel, community_robot(notice.community_id)) for channel in own]
    else:
        recipients = [(channel, "") for channel in _routing.group]
    link = f"{_routing.console_url}/console/cases/{notice.case_id}"
    told = []
    if notice.action in _TO_ASSIGNEE and notice.assignee_user_id is not None:
        told.append(
            personal(
                session,
                actor=actor,
                user_id=notice.assignee_user_id,
                community_id=notice.community_id,
                title=f"【{_TO_ASSIGNEE[notice.action]}】{notice.category_label} #{notice.case_id}",
                text=text + "\n请尽快处理。",
                link=link,
                subject_type="case",
                subject_id=notice.case_id,
            )
        )
    return told + [
        enqueue(
            session,
            actor=actor,
            channel=channel,
            title=title,
            text=text,
            target=target,
            link=link,
            community_id=notice.community_id,
            subject_type="case",
            subject_id=notice.case_id,
        )
        for channel, target in recipients
    ]


SIGN_IN_SUBJECT = "sign_in"
_CODE_DIGITS = re.compile(r"\d{6}")


def sign_in_code(
    session: Session, *, actor: Principal, phone: str, code: str, community_id: int, valid_minutes: int
) -> int:
    """A resident's one-time sign-in code: by SMS to their number when SMS is configured, else on the
    console page (the demo), where only admins read the code. The id of the message."""
    sms = _routing.sms
    text = f"您的平安家园登录验证码为 {code}，{valid_minutes} 分钟内有效。如非本人操作请忽略，切勿告诉他人。"
    if not sms:
        text = f"手机 {phone} 的居民登录验证码为 {code}，{valid_minutes} 分钟内有效。"
    return enqueue(
        session,
        actor=actor,
        channel=ChannelName.SMS if sms else ChannelName.CONSOLE,
        title="居民登录验证码",
        text=text,
        target=phone if sms else "",
        community_id=community_id,
        subject_type=SIGN_IN_SUBJECT,
    )


def personal(
    session: Session,
    *,
    actor: Principal,
    user_id: int,
    community_id: int | None,
    title: str,
    text: str,
    link: str = "",
    subject_type: str = "",
    subject_id: int | None = None,
) -> int:
    """A notice for one person: by SMS when an SMS provider is configured (to the mobile on their
    account when it is sent, so a number changed meanwhile is the one used, and no number is stored in
    the outbox); else on the console channel, where the office sees it on 消息. The id of the row."""
    channel = ChannelName.SMS if _routing.sms else ChannelName.CONSOLE
    return enqueue(
        session,
        actor=actor,
        channel=channel,
        title=title,
        text=text,
        community_id=community_id,
        target=f"{PERSON_TARGET}{user_id}",
        link=link,
        subject_type=subject_type,
        subject_id=subject_id,
    )


def claim(
    session: Session, *, actor: Principal, channel: ChannelName, now: datetime, lease: timedelta, limit: int
) -> list[Delivery]:
    """Take up to `limit` due messages of one channel for sending: each counts an attempt and is held
    until `now + lease` (after that, should the sender die, another may take it)."""
    policies.require_system(actor)
    rows = repository.claim_due(session, channel.value, now, limit)
    for row in rows:
        row.state = MessageState.SENDING.value
        row.attempts += 1
        row.due_at = now + lease
    session.flush()
    return [
        Delivery(
            id=r.id,
            channel=ChannelName(r.channel),
            target=_recipient(session, r.target),
            title=r.title,
            text=r.text,
            link=r.link,
            attempts=r.attempts,
        )
        for r in rows
    ]


def _recipient(session: Session, target: str) -> str:
    """The target in full for the sender: a sealed number opened, a person's account read for their
    mobile now (empty when they have none: the channel then refuses, and the row says so)."""
    user_id = _person(target)
    if user_id is not None:
        if _vault is None:
            raise RuntimeError("notify.configure() was given no PII vault: a mobile cannot be read")
        return users.mobile_of(session, user_id, vault=_vault) or ""
    return _unsealed(target)


def settle(
    session: Session,
    *,
    actor: Principal,
    delivery: Delivery,
    error: str | None,
    now: datetime,
    policy: RetryPolicy,
) -> MessageState | None:
    """Record how an attempt went: sent; pending again after the backoff; or failed after the last
    allowed attempt. None when the row is no longer this attempt's (its lease ran out and another sender
    took it)."""
    policies.require_system(actor)
    row = repository.message_for_update(session, delivery.id)
    if row is None or row.state != MessageState.SENDING.value or row.attempts != delivery.attempts:
        return None
    if error is None:
        row.state, row.sent_at, row.last_error = MessageState.SENT.value, now, ""
    elif policy.gives_up(row.attempts):
        row.state, row.last_error = MessageState.FAILED.value, error[:300]
    else:
        row.state, row.last_error = MessageState.PENDING.value, error[:300]
        row.due_at = now + policy.delay(row.attempts)
    if row.state != MessageState.PENDING.value:
        publish_on_commit(
            session,
            MessageSettled(
                community_id=row.community_id, message_id=row.id, channel=row.channel, state=row.state
            ),
        )
    return MessageState(row.state)


def prune(session: Session, *, actor: Principal, before: datetime) -> int:
    """Delete the messages sent or failed before `before` (pending ones are kept however old); how many."""
    policies.require_system(actor)
    return repository.delete_settled_before(session, before)


def list_messages(
    session: Session,
    *,
    actor: Principal,
    params: PageParams,
    channel: ChannelName | None = None,
    state: MessageState | None = None,
) -> Page[MessageOut]:
    """The messages of the actor's communities, newest first, optionally of one channel or state."""
    where = repository.in_communities(policies.reach(actor))
    if channel is not None:
        where = where & (OutboxMessage.channel == channel.value)
    if state is not None:
        where = where & (OutboxMessage.state == state.value)
    query = repository.messages_where(where)
    rows = session.scalars(query.offset(params.offset).limit(params.size)).all()
    people = [p for r in rows if (p := _person(r.target)) is not None]
    names = users.display_names(session, people) if people else {}
    return Page[MessageOut](
        items=[_out(r, names, codes_shown=policies.may_read_codes(actor)) for r in rows],
        total=repository.count(session, query),
        page=params.page,
        size=params.size,
    )


def _out(row: OutboxMessage, names: dict[int, str], *, codes_shown: bool) -> MessageOut:
    channel, state = ChannelName(row.channel), MessageState(row.state)
    person = _person(row.target)
    name = names.get(person) or Text(N_("已删除的账号")) if person is not None else None
    target = _shown_target(row.target) if name is None else Text(N_("{name}（本人）"), name=name)
    text: str | Text = row.text
    if row.subject_type == SIGN_IN_SUBJECT and not codes_shown:
        text = Text(N_("{text}（验证码仅管理员可见）"), text=_CODE_DIGITS.sub("******", row.text))
    return MessageOut(
        id=row.id,
        channel=channel,
        channel_label=channel.label,
        target="",
        title=row.title,
        text="",
        link=row.link,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        community_id=row.community_id,
        state=state,
        state_label=state.label,
        attempts=row.attempts,
        due_at=row.due_at,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
    ).built(target=target, text=text)
