"""Console page 访客: visitor passes with filters, and a CSRF-checked form that cancels one."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from jiayuan.access import policies
from jiayuan.access.schemas import VisitorFilter, VisitorOut
from jiayuan.access.service import visitors
from jiayuan.access.states import VisitorState
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.errors import JiayuanError
from jiayuan.kernel.paging import MAX_PAGE, PageParams
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import structure
from jiayuan.web import i18n
from jiayuan.web.auth import PagePrincipal
from jiayuan.web.deps import ContextDep, RowId, SessionDep
from jiayuan.web.i18n import N_
from jiayuan.web.templating import render

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)

_FILTERS = ("compound_id", "household_id", "status", "on")
_FIELD_LABELS = {
    "compound_id": N_("小区"),
    "household_id": N_("住户"),
    "status": N_("状态"),
    "on": N_("日期"),
}
# A pass in these states still opens a gate (or will), so cancelling it means something.
_CANCELLABLE = frozenset({VisitorState.ACTIVE, VisitorState.PENDING, VisitorState.USED_UP})


def _row_context(principal: Principal, visitor: VisitorOut, **extra: object) -> dict[str, object]:
    # The cancel button is offered by role; the service decides for each pass.
    may_cancel = policies.may_cancel_visitors(principal)
    return {"v": visitor, "may_cancel": may_cancel, "cancellable": _CANCELLABLE, **extra}


@router.get("/visitors")
def visitors_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    context: ContextDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    notice: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Visitor passes in scope with filters; htmx requests (the filter form) get only the results."""
    query = {k: v for k in _FILTERS if (v := request.query_params.get(k, "").strip())}
    error = None
    try:
        criteria = VisitorFilter.model_validate(query)
    except ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors()}
        named = i18n.translate(N_("、")).join(i18n.translate(_FIELD_LABELS.get(f, f)) for f in sorted(fields))
        error = i18n.translate(N_("筛选条件有误：{fields}")).format(fields=named)
        criteria = VisitorFilter()
    return _list_view(
        request,
        principal,
        session,
        context.vault,
        criteria=criteria,
        query=query,
        page=page,
        notice=notice,
        error=error,
        status_code=422 if error else 200,
    )


def _list_view(
    request: Request,
    principal: Principal,
    session: Session,
    vault: PiiVault,
    *,
    criteria: VisitorFilter,
    query: dict[str, str],
    page: int = 1,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    results = visitors.list_visitors(
        session, actor=principal, vault=vault, criteria=criteria, params=PageParams(page=page, size=20)
    )
    values = {
        "results": results,
        "query": query,
        "states": list(VisitorState),
        "compounds": structure.list_compounds(session, actor=principal),
        "notice": notice,
        "error": error,
        "may_cancel": policies.may_cancel_visitors(principal),
        "cancellable": _CANCELLABLE,
    }
    if request.headers.get("hx-request"):
        return render(request, "access/_visitor_results.html", values, status_code=status_code)
    return render(request, "access/visitors.html", values, status_code=status_code)


@router.post("/visitors/{visitor_id}/cancel")
def cancel_visitor(
    request: Request,
    visitor_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    context: ContextDep,
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Cancel a pass; htmx gets the row back (with the error beside it), a plain form a redirect."""
    htmx = bool(request.headers.get("hx-request"))
    try:
        shown = visitors.cancel_visitor(
            session,
            actor=principal,
            vault=context.vault,
            visitor_id=visitor_id,
            reason=reason.strip() or None,
        )
    except JiayuanError as exc:
        session.rollback()
        if htmx:
            try:
                shown = visitors.show_visitor(
                    session, actor=principal, vault=context.vault, visitor_id=visitor_id
                )
            except JiayuanError:
                return render(request, "access/_visitor_error.html", {"message": i18n.error_text(exc)})
            return render(
                request,
                "access/_visitor_row.html",
                _row_context(principal, shown, row_error=i18n.error_text(exc)),
            )
        return _list_view(
            request,
            principal,
            session,
            context.vault,
            criteria=VisitorFilter(),
            query={},
            error=i18n.error_text(exc),
            status_code=exc.status,
        )
    if htmx:
        return render(request, "access/_visitor_row.html", _row_context(principal, shown, done=True))
    message = i18n.translate(N_("已撤销 {name} 的访客通行证")).format(name=shown.name)
    return RedirectResponse(f"/console/visitors?notice={quote(message)}", status_code=303)
