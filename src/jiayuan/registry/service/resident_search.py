"""Finding residents: by name, pinyin, initials, phone or ID tail, full number (audited) or plate."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, text
from sqlalchemy.orm import Session

from jiayuan.accounts.service.audit import actions_since, record_audit
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.errors import Invalid, TooManyRequests
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal
from jiayuan.registry import policies, repository
from jiayuan.registry.schemas import (
    REASON_MIN,
    ResidentPage,
    today,
)
from jiayuan.registry.search import QueryKind, parse_query
from jiayuan.registry.service.residents import resident_out

FULL_NUMBER_SEARCH = "pii.search"
_FULL_NUMBER_KINDS = {QueryKind.PHONE: "phone", QueryKind.ID_NUMBER: "id_number"}


def search_residents(
    session: Session,
    *,
    actor: Principal,
    vault: PiiVault,
    q: str | None,
    page: PageParams,
    reason: str | None = None,
    ip: str | None = None,
    full_number_limit: int = 20,
) -> ResidentPage:
    """Residents in scope matching a name, pinyin, initials, phone/ID tail, full number or plate.

    A blank query lists every resident in scope. Beyond COUNT_CAP matches the total says so
    (`total_exact` false) instead of counting them all. A full ID number or phone is a reveal
    (docs/privacy.md): only roles that may reveal may search by one, with a reason, at most
    `full_number_limit` times an hour per account, and each search is audited.
    """
    scope = policies.personal_scope(actor)
    query = parse_query(q or "")
    if query is not None and query.kind in _FULL_NUMBER_KINDS:
        _allow_full_number_search(session, actor, reason, limit=full_number_limit)
    if session.get_bind().dialect.name == "postgresql":
        # A search touches at most a few thousand rows: starting parallel workers costs more
        # (tens of ms on a busy box) than it saves. LOCAL: only for this transaction.
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        # The search indexes and rows stay cached, so a random page costs about a sequential one.
        # At the default 4 the planner walks the whole primary key checking every row's pinyin
        # keys (33 ms for `lst`) rather than fetch the ~800 rows the GIN index names (2 ms).
        session.execute(text("SET LOCAL random_page_cost = 1.1"))
    where = repository.resident_scope_clause(session, scope)
    exact: str | None = None
    if query is not None:
        lookup = vault.lookup_hash(query.text) if query.kind in _FULL_NUMBER_KINDS else None
        dialect = session.get_bind().dialect.name
        where = and_(where, repository.match_clause(query, dialect=dialect, lookup_hash=lookup))
        exact = query.text if query.kind is QueryKind.NAME else None
    total, total_exact, rows = repository.search_rows(
        session, where=where, order_exact=exact, offset=page.offset, limit=page.size
    )
    if query is not None and query.kind in _FULL_NUMBER_KINDS:
        record_audit(
            session,
            actor=actor,
            action=FULL_NUMBER_SEARCH,
            target_type="resident",
            target_id=rows[0][0].id if len(rows) == 1 else None,
            target_label=rows[0][0].name if len(rows) == 1 else None,
            reason=reason,
            ip=ip,
            detail={"field": _FULL_NUMBER_KINDS[query.kind], "matches": total},
        )
    day = today()
    shown = policies.may_reveal(actor)
    items = [
        resident_out(r, address, vault=vault, birth_day_shown=shown, day=day, tags=tags)
        for r, address, tags in rows
    ]
    return ResidentPage(items=items, total=total, total_exact=total_exact, page=page.page, size=page.size)


def _allow_full_number_search(session: Session, actor: Principal, reason: str | None, *, limit: int) -> None:
    policies.require_full_number_search(actor)
    if len((reason or "").strip()) < REASON_MIN:
        raise Invalid(
            "按完整号码查找等同于查看完整信息，请填写理由（至少 {n} 个字）", field="reason", n=REASON_MIN
        )
    since = utcnow() - timedelta(hours=1)
    if actions_since(session, actor=actor, action=FULL_NUMBER_SEARCH, since=since) >= limit:
        raise TooManyRequests("一小时内按完整号码查找已达 {limit} 次上限，请稍后再试", field="q", limit=limit)
