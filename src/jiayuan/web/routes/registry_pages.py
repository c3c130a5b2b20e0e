"""Console pages of the registry: resident search, resident detail with reveal, household."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from jiayuan.kernel.errors import Forbidden, Invalid, NotFound, TooManyRequests
from jiayuan.kernel.paging import MAX_PAGE, PageParams
from jiayuan.registry.policies import may_reveal
from jiayuan.registry.schemas import REASON_MIN, RevealIn
from jiayuan.registry.service import resident_search, residents, structure
from jiayuan.web import i18n
from jiayuan.web.auth import PagePrincipal, client_ip
from jiayuan.web.deps import ContextDep, RowId, SessionDep
from jiayuan.web.i18n import N_
from jiayuan.web.templating import render

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)


@router.get("/residents")
def residents_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    context: ContextDep,
    q: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    reason: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Search residents; htmx requests (the live search box) get only the results.

    A full ID number or phone needs a reason (admins and staff only): the results say so, and
    the reason box of the form carries it.
    """
    error: str | None = None
    results = None
    try:
        results = resident_search.search_residents(
            session,
            actor=principal,
            vault=context.vault,
            q=q,
            page=PageParams(page=page, size=20),
            reason=reason or None,
            ip=client_ip(request),
            full_number_limit=context.settings.full_number_searches_per_hour,
        )
    except (Invalid, TooManyRequests) as exc:
        session.rollback()
        error = i18n.error_text(exc)
    except Forbidden as exc:
        if exc.field != "q":
            raise
        error = i18n.error_text(exc)  # a number search this role may not make: say what to search by instead
    values = {
        "results": results,
        "q": q,
        "reason": reason,
        "error": error,
        "may_reveal": may_reveal(principal),
        "reason_min": REASON_MIN,
    }
    if request.headers.get("hx-request"):
        return render(request, "registry/_results.html", values)
    return render(request, "registry/residents.html", values)


@router.get("/residents/{resident_id}")
def resident_page(
    request: Request, resident_id: RowId, principal: PagePrincipal, session: SessionDep, context: ContextDep
) -> Response:
    """One resident, masked, with the reveal form for those who may use it."""
    resident = residents.show_resident(session, actor=principal, vault=context.vault, resident_id=resident_id)
    values = {"r": resident, "may_reveal": may_reveal(principal), "reason_min": REASON_MIN}
    return render(request, "registry/resident.html", values)


@router.post("/residents/{resident_id}/reveal")
def reveal(
    request: Request,
    resident_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    context: ContextDep,
    field: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Show one full value (a fragment for htmx); the reason and the reveal go to the audit log."""
    values: dict[str, object] = {"resident_id": resident_id, "reason_min": REASON_MIN, "field": field}
    try:
        body = RevealIn.model_validate({"field": field, "reason": reason})
    except ValidationError as exc:
        first = exc.errors()[0]
        values["error"] = (
            i18n.translate(N_("请选择要查看的项目")) if first["loc"][0] == "field" else i18n.check_text(first)
        )
        return render(
            request,
            "registry/_reveal.html",
            values,
            status_code=422 if not request.headers.get("hx-request") else 200,
        )
    try:
        shown = residents.reveal(
            session,
            actor=principal,
            vault=context.vault,
            resident_id=resident_id,
            request=body,
            ip=client_ip(request),
        )
    except (Forbidden, NotFound) as exc:
        values["error"] = i18n.error_text(exc)
        return render(
            request,
            "registry/_reveal.html",
            values,
            status_code=200 if request.headers.get("hx-request") else exc.status,
        )
    values["shown"] = shown
    return render(request, "registry/_reveal.html", values)


@router.get("/households/{household_id}")
def household_page(
    request: Request, household_id: RowId, principal: PagePrincipal, session: SessionDep, context: ContextDep
) -> Response:
    """A household: its members (masked) and vehicles."""
    household = structure.show_household(
        session, actor=principal, vault=context.vault, household_id=household_id
    )
    return render(request, "registry/household.html", {"h": household})
