"""Queries of the notify domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, delete, false, func, select, true
from sqlalchemy.orm import Session

from jiayuan.notify.models import OutboxMessage
from jiayuan.notify.states import CLAIMABLE, SETTLED


def claim_due(session: Session, channel: str, now: datetime, limit: int) -> list[OutboxMessage]:
    """Rows of one channel that fell due, locked for this transaction; on PostgreSQL a row another
    sender holds is skipped (FOR UPDATE SKIP LOCKED), so two senders never take the same one."""
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.channel == channel, OutboxMessage.state.in_(CLAIMABLE), OutboxMessage.due_at <= now
        )
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def message_for_update(session: Session, message_id: int) -> OutboxMessage | None:
    """One row, locked until the transaction ends."""
    return session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update())


def in_communities(community_ids: frozenset[int] | None) -> ColumnElement[bool]:
    """Messages of these communities (None: all)."""
    if community_ids is None:
        return true()
    if not community_ids:
        return false()
    return OutboxMessage.community_id.in_(sorted(community_ids))


def messages_where(where: ColumnElement[bool]) -> Select[OutboxMessage]:
    """Messages matching a condition, newest first."""
    return select(OutboxMessage).where(where).order_by(OutboxMessage.id.desc())


def count(session: Session, query: Select[OutboxMessage]) -> int:
    """How many rows a query would return."""
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def delete_settled_before(session: Session, before: datetime) -> int:
    """Delete the sent and failed messages created before a time; how many went."""
    result = session.execute(
        delete(OutboxMessage).where(OutboxMessage.state.in_(SETTLED), OutboxMessage.created_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)
