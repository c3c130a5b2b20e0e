"""Queries of the patrol domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from jiayuan.patrol.models import PatrolCheck, PatrolPlan, PatrolRound


def plan(session: Session, plan_id: int) -> PatrolPlan | None:
    """One plan with its cameras."""
    return session.scalar(
        select(PatrolPlan)
        .options(selectinload(PatrolPlan.cameras), selectinload(PatrolPlan.terms))
        .where(PatrolPlan.id == plan_id)
    )


def plans(session: Session, communities: frozenset[int] | None) -> Sequence[PatrolPlan]:
    """The plans of these communities (all when None), with their cameras, in id order."""
    query = (
        select(PatrolPlan)
        .options(selectinload(PatrolPlan.cameras), selectinload(PatrolPlan.terms))
        .order_by(PatrolPlan.id)
    )
    if communities is not None:
        query = query.where(PatrolPlan.community_id.in_(sorted(communities)))
    return session.scalars(query).all()


def rounds_between(
    session: Session, plan_ids: Sequence[int], since: datetime, until: datetime
) -> Sequence[PatrolRound]:
    """The rounds of these plans whose slot lies in [since, until)."""
    if not plan_ids:
        return []
    return session.scalars(
        select(PatrolRound).where(
            PatrolRound.plan_id.in_(plan_ids), PatrolRound.slot >= since, PatrolRound.slot < until
        )
    ).all()


def round_of(session: Session, plan_id: int, slot: datetime) -> PatrolRound | None:
    """The round of one slot."""
    return session.scalar(select(PatrolRound).where(PatrolRound.plan_id == plan_id, PatrolRound.slot == slot))


def round_by_id(session: Session, round_id: int) -> PatrolRound | None:
    """A round with its checks."""
    return session.scalar(
        select(PatrolRound).options(selectinload(PatrolRound.checks)).where(PatrolRound.id == round_id)
    )


def findings_between(session: Session, plan_ids: Sequence[int], since: datetime, until: datetime) -> int:
    """How many cameras looked at in these plans' rounds opened a case."""
    if not plan_ids:
        return 0
    query = (
        select(func.count())
        .select_from(PatrolCheck)
        .join(PatrolRound, PatrolCheck.round_id == PatrolRound.id)
        .where(
            PatrolRound.plan_id.in_(plan_ids),
            PatrolRound.slot >= since,
            PatrolRound.slot < until,
            PatrolCheck.case_id.is_not(None),
        )
    )
    return int(session.scalar(query) or 0)


def round_counts(session: Session, plan_ids: Sequence[int]) -> dict[int, int]:
    """How many rounds each of these plans has (begun or finished)."""
    if not plan_ids:
        return {}
    rows = session.execute(
        select(PatrolRound.plan_id, func.count())
        .where(PatrolRound.plan_id.in_(plan_ids))
        .group_by(PatrolRound.plan_id)
    ).all()
    return {plan_id: int(count) for plan_id, count in rows}
