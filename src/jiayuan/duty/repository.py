"""Queries of the duty domain."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from jiayuan.db.bulk import is_postgresql
from jiayuan.duty.models import DutyHoliday, DutyShift, DutyTemplate

# The first half of the duty domain's PostgreSQL advisory lock keys ("du"); the second is a user id.
_LOCK_SPACE = 0x6475


def shift_by_id(session: Session, shift_id: int) -> DutyShift | None:
    """One shift."""
    return session.get(DutyShift, shift_id)


def template_by_id(session: Session, template_id: int) -> DutyTemplate | None:
    """One weekly template."""
    return session.get(DutyTemplate, template_id)


def lock_people(session: Session, user_ids: Iterable[int]) -> None:
    """Hold each person's roster until the transaction ends, so two writers cannot both find a person
    free and give them overlapping shifts. In id order, so two writers never wait on each other. SQLite
    has one writer at a time and needs no lock."""
    if not is_postgresql(session):
        return
    for user_id in sorted(set(user_ids)):
        session.execute(select(func.pg_advisory_xact_lock(_LOCK_SPACE, user_id)))


def overlapping(
    session: Session, user_id: int, starts_at: datetime, ends_at: datetime, *, skip: Iterable[int] = ()
) -> DutyShift | None:
    """A shift of the person that shares some time with [starts_at, ends_at), other than `skip`."""
    query = select(DutyShift).where(
        DutyShift.user_id == user_id,
        DutyShift.cancelled_at.is_(None),
        DutyShift.starts_at < ends_at,
        DutyShift.ends_at > starts_at,
    )
    skipped = sorted(set(skip))
    if skipped:
        query = query.where(DutyShift.id.not_in(skipped))
    return session.scalars(query.order_by(DutyShift.starts_at, DutyShift.id).limit(1)).first()


def shifts_between(
    session: Session, community_ids: Iterable[int], starts_at: datetime, ends_at: datetime
) -> list[DutyShift]:
    """The communities' shifts (not called off) that share some time with [starts_at, ends_at), by start."""
    return list(
        session.scalars(
            select(DutyShift)
            .where(
                DutyShift.community_id.in_(sorted(set(community_ids))),
                DutyShift.cancelled_at.is_(None),
                DutyShift.starts_at < ends_at,
                DutyShift.ends_at > starts_at,
            )
            .order_by(DutyShift.starts_at, DutyShift.id)
        )
    )


def shifts_at(session: Session, community_ids: Iterable[int], at: datetime) -> list[DutyShift]:
    """The shifts (not called off) running at `at` (start inclusive, end exclusive)."""
    return list(
        session.scalars(
            select(DutyShift)
            .where(
                DutyShift.community_id.in_(sorted(set(community_ids))),
                DutyShift.cancelled_at.is_(None),
                DutyShift.starts_at <= at,
                DutyShift.ends_at > at,
            )
            .order_by(DutyShift.starts_at, DutyShift.id)
        )
    )


def templates_of(session: Session, community_id: int) -> list[DutyTemplate]:
    """A community's weekly templates, by weekday and start."""
    return list(
        session.scalars(
            select(DutyTemplate)
            .where(DutyTemplate.community_id == community_id)
            .order_by(DutyTemplate.weekday, DutyTemplate.start_minute, DutyTemplate.id)
        )
    )


def template_communities(session: Session) -> list[int]:
    """The communities that have weekly templates."""
    return list(
        session.scalars(select(DutyTemplate.community_id).distinct().order_by(DutyTemplate.community_id))
    )


def template_starts(session: Session, template_ids: Iterable[int]) -> set[tuple[int, datetime]]:
    """The (template, start) pairs already produced."""
    ids = sorted(set(template_ids))
    if not ids:
        return set()
    rows = session.execute(
        select(DutyShift.template_id, DutyShift.starts_at).where(DutyShift.template_id.in_(ids))
    )
    return {(template_id, starts_at) for template_id, starts_at in rows if template_id is not None}


def holiday_by_id(session: Session, holiday_id: int) -> DutyHoliday | None:
    """One holiday."""
    return session.get(DutyHoliday, holiday_id)


def holidays_of(session: Session, community_id: int) -> list[DutyHoliday]:
    """A community's holidays, by date."""
    return list(
        session.scalars(
            select(DutyHoliday).where(DutyHoliday.community_id == community_id).order_by(DutyHoliday.day)
        )
    )


def holiday_on(session: Session, community_id: int, day: date) -> DutyHoliday | None:
    """The community's holiday on a date."""
    return session.scalar(
        select(DutyHoliday).where(DutyHoliday.community_id == community_id, DutyHoliday.day == day)
    )


def delete_future_template_shifts(session: Session, template_id: int, since: datetime) -> int:
    """Remove the shifts a template produced that have not started by `since` (past ones stay on
    record); how many."""
    result = session.execute(
        delete(DutyShift).where(DutyShift.template_id == template_id, DutyShift.starts_at >= since)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def claim_starting(session: Session, *, since: datetime, until: datetime, limit: int) -> list[DutyShift]:
    """Shifts starting in [since, until] whose person has not been reminded, locked for this
    transaction; on PostgreSQL a shift another worker holds is skipped, so nobody is reminded twice."""
    query = (
        select(DutyShift)
        .where(
            DutyShift.starts_at >= since,
            DutyShift.starts_at <= until,
            DutyShift.reminded_at.is_(None),
            DutyShift.cancelled_at.is_(None),
        )
        .order_by(DutyShift.starts_at, DutyShift.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))
