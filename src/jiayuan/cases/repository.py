"""Queries of the cases domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, Select, and_, delete, false, func, or_, select, true
from sqlalchemy.orm import Session, selectinload, undefer

from jiayuan.cases.models import Case, CaseAttachment, CaseDeadline, CaseFollower, CaseShare, CaseStep
from jiayuan.cases.policies import reach_of
from jiayuan.cases.schemas import CaseFilter
from jiayuan.kernel.principal import Principal


def case_by_id(session: Session, case_id: int, *, lock: bool = False) -> Case | None:
    """One case with its steps and what was attached to them; with `lock`, held for this transaction
    (on PostgreSQL two actions on one case, or one action sent twice, then run one after the other)."""
    query = (
        select(Case)
        .where(Case.id == case_id)
        .options(selectinload(Case.steps).selectinload(CaseStep.attachments), selectinload(Case.followers))
    )
    return session.scalar(query.with_for_update(of=Case) if lock else query)


def case_by_request(session: Session, reporter_user_id: int, request_id: str) -> Case | None:
    """The case a person already raised under this request id."""
    return session.scalar(
        select(Case)
        .where(Case.reporter_user_id == reporter_user_id, Case.request_id == request_id)
        .options(selectinload(Case.steps).selectinload(CaseStep.attachments))
    )


def reported_since(session: Session, reporter_user_id: int | None, since: datetime) -> int:
    """How many cases a person raised since `since`."""
    where = (Case.reporter_user_id == reporter_user_id) & (Case.reported_at >= since)
    return session.scalar(select(func.count()).select_from(Case).where(where)) or 0


def attachment_by_id(session: Session, attachment_id: int) -> CaseAttachment | None:
    """One attachment, its bytes included."""
    return session.scalar(
        select(CaseAttachment)
        .where(CaseAttachment.id == attachment_id)
        .options(undefer(CaseAttachment.data), selectinload(CaseAttachment.case))
    )


def waiting_attachments(
    session: Session, ids: Sequence[int], uploader_user_id: int | None, *, since: datetime
) -> dict[int, CaseAttachment]:
    """Of these attachments, the ones this person uploaded since `since` and has not yet given, by id."""
    if uploader_user_id is None:
        return {}
    rows = session.scalars(
        select(CaseAttachment).where(
            CaseAttachment.id.in_(sorted(set(ids))),
            CaseAttachment.uploader_user_id == uploader_user_id,
            CaseAttachment.case_id.is_(None),
            CaseAttachment.uploaded_at >= since,
        )
    )
    return {row.id: row for row in rows}


def delete_waiting(session: Session, *, before: datetime) -> int:
    """Delete the uploads made before `before` and never given; how many."""
    result = session.execute(
        delete(CaseAttachment).where(CaseAttachment.case_id.is_(None), CaseAttachment.uploaded_at < before)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def waiting_uploads(session: Session, uploader_user_id: int | None, *, since: datetime) -> int:
    """How many uploads this person made since `since` and has not yet given."""
    return (
        session.scalar(
            select(func.count()).where(
                CaseAttachment.uploader_user_id == uploader_user_id,
                CaseAttachment.case_id.is_(None),
                CaseAttachment.uploaded_at >= since,
            )
        )
        or 0
    )


def reach(actor: Principal) -> ColumnElement[bool]:
    """The cases an actor sees, as a condition (`policies.reach_of`, the rule `policies.sees` applies)."""
    rule = reach_of(actor)
    if rule.everything:
        return true()
    parts: list[ColumnElement[bool]] = []
    if rule.communities:
        parts.append(Case.community_id.in_(sorted(rule.communities)))
    if rule.grids:
        parts.append(Case.grid_id.in_(sorted(rule.grids)))
    if rule.reported_by is not None:
        followed = select(CaseFollower.case_id).where(CaseFollower.user_id == rule.reported_by)
        parts.append(or_(Case.reporter_user_id == rule.reported_by, Case.id.in_(followed)))
    if rule.assigned_to is not None:
        parts.append(Case.assignee_user_id == rule.assigned_to)
    if rule.shared_with is not None:
        shared = select(CaseShare.case_id).where(
            CaseShare.user_id == rule.shared_with, CaseShare.revoked_at.is_(None)
        )
        parts.append(Case.id.in_(shared))
    return or_(*parts) if parts else false()


def share_by_id(session: Session, share_id: int) -> CaseShare | None:
    """One share of a case."""
    return session.get(CaseShare, share_id)


def narrowed(filters: CaseFilter, actor: Principal, now: datetime) -> ColumnElement[bool]:
    """The board's filters as a condition (within reach is `reach`'s)."""
    parts: list[ColumnElement[bool]] = []
    if filters.state is not None:
        parts.append(Case.state == filters.state.value)
    if filters.open_only:
        parts.append(Case.state != "closed")
    if filters.category is not None:
        parts.append(Case.category == filters.category.value)
    if filters.source is not None:
        parts.append(Case.source == filters.source.value)
    if filters.grid_id is not None:
        parts.append(Case.grid_id == filters.grid_id)
    if filters.mine:
        parts.append(Case.assignee_user_id == actor.user_id if actor.user_id is not None else false())
    if filters.overdue:
        parts.append(Case.due_at <= now)
    if filters.text:
        text = filters.text
        parts.append(
            or_(Case.title.contains(text, autoescape=True), Case.place_label.contains(text, autoescape=True))
        )
    return and_(true(), *parts)


def cases_where(where: ColumnElement[bool]) -> Select[Case]:
    """Cases matching a condition, newest first."""
    return select(Case).where(where).order_by(Case.reported_at.desc(), Case.id.desc())


def count(session: Session, query: Select[Case], *, cap: int) -> int:
    """How many rows a query would return, counted up to `cap + 1` (more than `cap`: `cap + 1`)."""
    limited = query.order_by(None).with_only_columns(Case.id).limit(cap + 1).subquery()
    return session.scalar(select(func.count()).select_from(limited)) or 0


def counts_by_state(session: Session, where: ColumnElement[bool]) -> dict[str, int]:
    """How many cases matching the condition are in each state (states with none left out)."""
    rows = session.execute(select(Case.state, func.count()).where(where).group_by(Case.state)).all()
    return {state: int(n) for state, n in rows}


def alarms_with_cases(session: Session, alarm_ids: Sequence[int]) -> set[int]:
    """Which of these alarms already opened a case."""
    if not alarm_ids:
        return set()
    return set(session.scalars(select(Case.alarm_id).where(Case.alarm_id.in_(sorted(set(alarm_ids))))))


def deadline_overrides(session: Session, community_id: int) -> dict[tuple[str, str], int]:
    """A community's own limits, by (category, step)."""
    rows = session.execute(
        select(CaseDeadline.category, CaseDeadline.step, CaseDeadline.minutes).where(
            CaseDeadline.community_id == community_id
        )
    )
    return {(category, step): minutes for category, step, minutes in rows}


def deadline_row(session: Session, community_id: int, category: str, step: str) -> CaseDeadline | None:
    """The stored override of one limit."""
    return session.scalar(
        select(CaseDeadline).where(
            CaseDeadline.community_id == community_id,
            CaseDeadline.category == category,
            CaseDeadline.step == step,
        )
    )


def claim_overdue(session: Session, now: datetime, limit: int) -> list[Case]:
    """Open cases whose step fell due, locked for this transaction; on PostgreSQL a case another worker
    holds is skipped (FOR UPDATE SKIP LOCKED), so two workers never escalate the same one twice."""
    query = (
        select(Case)
        .where(Case.due_at <= now, Case.state != "closed")
        .order_by(Case.due_at, Case.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


class StatRow(NamedTuple):
    """What the statistics read of one case."""

    id: int
    category: str
    grid_id: int | None
    assignee_user_id: int | None
    reported_at: datetime
    due_at: datetime | None
    state: str
    level: int


def stats_rows(session: Session, where: ColumnElement[bool]) -> list[StatRow]:
    """The statistics' view of the matching cases."""
    query = select(
        Case.id, Case.category, Case.grid_id, Case.assignee_user_id, Case.reported_at, Case.due_at,
        Case.state, Case.level,
    ).where(where)  # fmt: skip
    return [StatRow(*row) for row in session.execute(query)]


def first_steps(
    session: Session, where: ColumnElement[bool], actions: Sequence[str]
) -> dict[tuple[int, str], datetime]:
    """When each matching case first took each of the actions, by (case id, action)."""
    query = (
        select(CaseStep.case_id, CaseStep.action, func.min(CaseStep.at))
        .join(Case, Case.id == CaseStep.case_id)
        .where(where, CaseStep.action.in_(list(actions)))
        .group_by(CaseStep.case_id, CaseStep.action)
    )
    return {(case_id, action): at for case_id, action, at in session.execute(query)}


def open_for_shift(
    session: Session, *, user_id: int, community_id: int, grid_id: int | None, escalated: bool, limit: int
) -> tuple[int, list[Case]]:
    """The open cases a person starting a shift answers for (how many, and the most urgent first): those
    with them, those of their grid with nobody yet and, for a post over the community, those escalated."""
    parts: list[ColumnElement[bool]] = [Case.assignee_user_id == user_id]
    if grid_id is not None:
        parts.append((Case.grid_id == grid_id) & Case.assignee_user_id.is_(None))
    if escalated:
        parts.append(Case.level > 0)
    where = (Case.community_id == community_id) & (Case.state != "closed") & or_(*parts)
    total = session.scalar(select(func.count()).select_from(Case).where(where)) or 0
    rows = session.scalars(
        select(Case).where(where).order_by(Case.due_at.is_(None), Case.due_at, Case.id).limit(limit)
    )
    return total, list(rows)
