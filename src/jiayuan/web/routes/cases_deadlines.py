"""Console page 办理时限: every category's time limit for every step as the community applies them; its
admins change them in one form (each change audited by the cases service), the office reads them."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from jiayuan.cases import policies
from jiayuan.cases.deadlines import DUE_STEPS
from jiayuan.cases.schemas import Category, DeadlineIn, DeadlineOut
from jiayuan.cases.service import workflow
from jiayuan.kernel.errors import Forbidden, Invalid, JiayuanError
from jiayuan.kernel.i18n import Label
from jiayuan.kernel.ids import MAX_ROW_ID
from jiayuan.kernel.numbers import whole_number
from jiayuan.kernel.principal import Principal
from jiayuan.web import i18n
from jiayuan.web.auth import PagePrincipal
from jiayuan.web.deps import SessionDep
from jiayuan.web.templating import render

pages = APIRouter(prefix="/console/cases", tags=["console"], include_in_schema=False)
_MAX_MINUTES = 30 * 24 * 60


def _community(principal: Principal, community_id: int | None) -> int:
    """The community asked for, else the actor's first (a choice out of reach reads as missing)."""
    if community_id is not None:
        return community_id
    if not principal.community_ids:
        raise Forbidden("该账号没有所属社区，无法查看办理时限")
    return min(principal.community_ids)


@pages.get("/deadlines")
def deadlines_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    community_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    notice: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The table of limits; a form for the community's admins."""
    community = _community(principal, community_id)
    table = workflow.deadline_table(session, actor=principal, community_id=community)
    return _render(request, principal, community, table, notice=notice)


@pages.post("/deadlines")
async def save_deadlines(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    community_id: Annotated[int, Query(ge=1, le=MAX_ROW_ID)],
) -> Response:
    """Save every limit that changed (`minutes.<category>.<step>`, in minutes); a bad one is named and
    nothing is saved."""
    form = await request.form()
    table = workflow.deadline_table(session, actor=principal, community_id=community_id)
    try:
        policies.require_deadline_editor(principal, community_id)
        changed = 0
        for row in table:
            typed = str(form.get(f"minutes.{row.category.value}.{row.step.value}", "")).strip()
            if not typed or typed == str(row.minutes):
                continue
            minutes = whole_number(typed)
            if minutes is None or not 1 <= minutes <= _MAX_MINUTES:
                raise Invalid(
                    "{category}·{step}：时限应为 1 到 {most} 之间的整数分钟",
                    field=f"minutes.{row.category.value}.{row.step.value}",
                    category=Label(row.category_label),
                    step=Label(row.step_label),
                    most=_MAX_MINUTES,
                )
            data = DeadlineIn(category=row.category, step=row.step, minutes=minutes)
            workflow.set_deadline(session, actor=principal, community_id=community_id, data=data)
            changed += 1
    except JiayuanError as exc:
        session.rollback()
        return _render(request, principal, community_id, table, error=i18n.error_text(exc), status=exc.status)
    notice = quote(
        i18n.translate("已保存 {n} 项时限").format(n=changed) if changed else i18n.translate("没有改动")
    )
    return RedirectResponse(f"/console/cases/deadlines?community_id={community_id}&notice={notice}", 303)


def _render(
    request: Request,
    principal: Principal,
    community_id: int,
    table: list[DeadlineOut],
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    cells = {(d.category, d.step): d for d in table}
    values = {
        "community_id": community_id,
        "communities": sorted(principal.community_ids),
        "steps": list(DUE_STEPS),
        "rows": [(category, [cells[(category, step)] for step in DUE_STEPS]) for category in Category],
        "editable": policies.may_edit_deadlines(principal, community_id),
        "notice": notice,
        "error": error,
    }
    return render(request, "cases/deadlines.html", values, status_code=status)
