"""Alarm states (open → cleared, or acknowledged → cleared), the states of a visitor pass, and of an
unread plate (waiting → read or dismissed)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, and_

from jiayuan.access.models import Alarm, UnreadPlate, VisitorPass
from jiayuan.kernel.errors import Conflict, Invalid
from jiayuan.kernel.i18n import N_


class AlarmState(StrEnum):
    """Where an alarm stands."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"


TRANSITIONS: dict[AlarmState, frozenset[AlarmState]] = {
    AlarmState.OPEN: frozenset({AlarmState.ACKNOWLEDGED, AlarmState.CLEARED}),
    AlarmState.ACKNOWLEDGED: frozenset({AlarmState.CLEARED}),
    AlarmState.CLEARED: frozenset(),
}


def transition(alarm: Alarm, target: AlarmState, *, at: datetime) -> None:
    """The only place an alarm's state changes."""
    current = AlarmState(alarm.state)
    if target not in TRANSITIONS[current]:
        raise Conflict("告警不能从 {current} 变为 {target}", field="state", current=current, target=target)
    alarm.state = target.value
    if target is AlarmState.CLEARED:
        alarm.cleared_at = at


class VisitorState(StrEnum):
    """Where a visitor pass stands, derived (never stored) from revocation, entries and window."""

    ACTIVE = "active"
    PENDING = "pending"
    USED_UP = "used_up"
    EXPIRED = "expired"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        """有效 / 未生效 / 已用完 / 已过期 / 已撤销."""
        return VISITOR_STATE_LABELS[self]

    @classmethod
    def parse(cls, text: str) -> VisitorState:
        """A state from its code or its Chinese label; Invalid naming `status` otherwise."""
        text = text.strip()
        for state in cls:
            if text in (state.value, state.label):
                return state
        choices = "、".join(f"{s.value}（{s.label}）" for s in cls)
        raise Invalid("状态须为 {choices} 之一", field="status", choices=choices)


VISITOR_STATE_LABELS: dict[VisitorState, str] = {
    VisitorState.ACTIVE: N_("有效"),
    VisitorState.PENDING: N_("未生效"),
    VisitorState.USED_UP: N_("已用完"),
    VisitorState.EXPIRED: N_("已过期"),
    VisitorState.REVOKED: N_("已撤销"),
}


def visitor_state(visitor: VisitorPass, *, at: datetime) -> VisitorState:
    """The state at `at`. A revocation outranks everything; a pass whose entries were all used stays
    "used up" after its window ends (it says the visitor came), an unused one becomes "expired"."""
    if visitor.revoked_at is not None:
        return VisitorState.REVOKED
    if visitor.entries_used >= visitor.entries_allowed:
        return VisitorState.USED_UP
    if at > visitor.valid_until:
        return VisitorState.EXPIRED
    if at < visitor.valid_from:
        return VisitorState.PENDING
    return VisitorState.ACTIVE


def visitor_state_clause(state: VisitorState, *, at: datetime) -> ColumnElement[bool]:
    """`visitor_state(v, at=at) == state` as a SQL condition (the same precedence)."""
    not_revoked = VisitorPass.revoked_at.is_(None)
    left = VisitorPass.entries_used < VisitorPass.entries_allowed
    if state is VisitorState.REVOKED:
        return VisitorPass.revoked_at.is_not(None)
    if state is VisitorState.USED_UP:
        return and_(not_revoked, VisitorPass.entries_used >= VisitorPass.entries_allowed)
    if state is VisitorState.EXPIRED:
        return and_(not_revoked, left, VisitorPass.valid_until < at)
    if state is VisitorState.PENDING:
        return and_(not_revoked, left, VisitorPass.valid_from > at)
    return and_(not_revoked, left, VisitorPass.valid_from <= at, VisitorPass.valid_until >= at)


class ReviewState(StrEnum):
    """Where an unread plate stands: waiting for a person, read by one, or marked 无车牌/无法辨认."""

    WAITING = "waiting"
    READ = "read"
    DISMISSED = "dismissed"

    @property
    def label(self) -> str:
        """待辨认 / 已辨认 / 无车牌或无法辨认."""
        return REVIEW_STATE_LABELS[self]


REVIEW_STATE_LABELS: dict[ReviewState, str] = {
    ReviewState.WAITING: "待辨认",
    ReviewState.READ: "已辨认",
    ReviewState.DISMISSED: "无车牌/无法辨认",
}


def review(
    unread: UnreadPlate, target: ReviewState, *, at: datetime, by_user_id: int | None, by: str
) -> None:
    """The only place an unread plate's state changes: once, from waiting, stamped with who and when."""
    if ReviewState(unread.state) is not ReviewState.WAITING or target is ReviewState.WAITING:
        raise Conflict("该车牌已由他人辨认或标记，请刷新页面", field="unread_id")
    unread.state = target.value
    unread.reviewed_at = at
    unread.reviewed_by_user_id = by_user_id
    unread.reviewed_by = by[:64]
