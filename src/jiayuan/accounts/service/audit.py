"""The audit log: one row per change in the caller's transaction (`record_audit`, used by every domain),
an account's recent actions, search and export."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from jiayuan.accounts import policies, repository
from jiayuan.accounts.models import AuditEntry
from jiayuan.accounts.schemas import AuditFilter, AuditOut
from jiayuan.db.base import table_of
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Invalid
from jiayuan.kernel.paging import Page, PageParams
from jiayuan.kernel.principal import Principal


def actions_since(session: Session, *, actor: Principal, action: str, since: datetime) -> int:
    """How many audit rows of `action` the actor's account wrote since `since` (for per-account limits
    that survive restarts and hold across processes)."""
    return repository.count_actions_since(
        session, user_id=actor.user_id, username=actor.username, action=action, since=since
    )


def record_audit(
    session: Session,
    *,
    actor: Principal,
    action: str,
    target_type: str,
    target_id: int | str | None = None,
    target_label: str | None = None,
    reason: str | None = None,
    community_id: int | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit row in the caller's transaction (so it exists exactly when the change does).

    Without an explicit community the row belongs to the actor's community, so that community's
    admins find it.
    """
    if community_id is None and actor.community_ids:
        community_id = min(actor.community_ids)
    entry = AuditEntry(
        at=utcnow(),
        actor_user_id=actor.user_id,
        actor_name=actor.username[:64],
        actor_role=actor.role.value,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id)[:64],
        target_label=target_label[:128] if target_label else target_label,
        reason=reason[:500] if reason else reason,
        community_id=community_id,
        ip=ip[:64] if ip else ip,
        detail=detail,
    )
    session.add(entry)


@dataclass(frozen=True)
class AuditTarget:
    """One object of a bulk change, for `record_audits`."""

    target_id: int | str
    target_label: str | None
    community_id: int | None
    detail: dict[str, Any] | None = None


def record_audits(
    session: Session, *, actor: Principal, action: str, target_type: str, targets: Sequence[AuditTarget]
) -> None:
    """One audit row per target, as `record_audit` writes them, inserted in one batched statement (an
    import of a hundred thousand residents audits each one)."""
    at = utcnow()
    fallback = min(actor.community_ids) if actor.community_ids else None
    rows = [
        {
            "at": at,
            "actor_user_id": actor.user_id,
            "actor_name": actor.username[:64],
            "actor_role": actor.role.value,
            "action": action,
            "target_type": target_type,
            "target_id": str(target.target_id)[:64],
            "target_label": target.target_label[:128] if target.target_label else target.target_label,
            "reason": None,
            "community_id": target.community_id if target.community_id is not None else fallback,
            "ip": None,
            "detail": target.detail,
        }
        for target in targets
    ]
    if rows:
        session.connection().execute(insert(table_of(AuditEntry)), rows)


def search_audit(
    session: Session, *, actor: Principal, criteria: AuditFilter, params: PageParams
) -> Page[AuditOut]:
    """Audit rows matching the filter, newest first (admins only, their communities only)."""
    policies.require_audit_reader(actor)
    query = repository.audit_query(criteria, policies.visible_communities(actor))
    rows = session.scalars(query.offset(params.offset).limit(params.size)).all()
    return Page[AuditOut](
        items=[AuditOut.model_validate(r) for r in rows],
        total=repository.count(session, query),
        page=params.page,
        size=params.size,
    )


AUDIT_EXPORT_LIMIT = 100_000


def audit_rows_for_export(session: Session, *, actor: Principal, criteria: AuditFilter) -> list[AuditOut]:
    """Every matching row (up to the export limit) for a spreadsheet; the export itself is audited."""
    policies.require_audit_reader(actor)
    query = repository.audit_query(criteria, policies.visible_communities(actor))
    if repository.count(session, query) > AUDIT_EXPORT_LIMIT:
        raise Invalid(
            "匹配的审计记录超过 {limit} 条，请缩小时间范围后再导出", field="since", limit=AUDIT_EXPORT_LIMIT
        )
    rows = [AuditOut.model_validate(r) for r in session.scalars(query)]
    record_audit(
        session,
        actor=actor,
        action="audit.export",
        target_type="audit_log",
        detail={"rows": len(rows), "filter": criteria.model_dump(mode="json", exclude_none=True)},
    )
    return rows
