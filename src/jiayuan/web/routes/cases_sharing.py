"""Sharing a case with police or property for a stated purpose: JSON API and the console page of a
case's shares (the office shares and revokes; shared accounts then reach the case everywhere)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from jiayuan.cases.schemas import SHARE_PURPOSE_LABELS, ShareIn, ShareOut
from jiayuan.cases.service import reads, sharing
from jiayuan.kernel.errors import JiayuanError
from jiayuan.kernel.i18n import N_, SEPARATOR
from jiayuan.web import i18n
from jiayuan.web.auth import CurrentPrincipal, PagePrincipal
from jiayuan.web.deps import RowId, SessionDep
from jiayuan.web.templating import render

api = APIRouter(prefix="/api/v1/cases", tags=["cases"])
pages = APIRouter(prefix="/console/cases", tags=["console"], include_in_schema=False)

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "未登录"},
    403: {"description": "角色无权查看"},
    404: {"description": "事件或共享记录不存在，或不在权限范围内"},
    409: {"description": "已共享或已撤销"},
    422: {"description": "输入有误（指出字段）"},
}


@api.get("/{case_id}/shares", response_model=list[ShareOut], responses=_ERRORS)
def list_shares(case_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> list[ShareOut]:
    """Who the case is shared with and why, revoked shares included (the office of its community)."""
    return sharing.list_shares(session, actor=principal, case_id=case_id)


@api.post("/{case_id}/shares", response_model=ShareOut, status_code=201, responses=_ERRORS)
def share_case(case_id: RowId, data: ShareIn, principal: CurrentPrincipal, session: SessionDep) -> ShareOut:
    """Share the case with one police or property account of its community, for a purpose (audited)."""
    return sharing.share_case(session, actor=principal, case_id=case_id, data=data)


@api.delete("/{case_id}/shares/{share_id}", response_model=ShareOut, responses=_ERRORS)
def revoke_share(
    case_id: RowId, share_id: RowId, principal: CurrentPrincipal, session: SessionDep
) -> ShareOut:
    """Revoke a share: the account no longer reaches the case (audited; the record stays)."""
    return sharing.revoke_share(session, actor=principal, case_id=case_id, share_id=share_id)


@pages.get("/{case_id}/shares")
def shares_page(
    request: Request,
    case_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    notice: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """A case's shares and the form to share it."""
    return _page(request, principal, session, case_id, notice=notice)


@pages.post("/{case_id}/shares")
def share_form(
    request: Request,
    case_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    user_id: Annotated[str, Form(max_length=12)] = "",
    purpose: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Share from the form; back to the shares with what was done, or the form again with why not."""
    try:
        data = ShareIn.model_validate({"user_id": user_id.strip() or None, "purpose": purpose, "note": note})
        done = sharing.share_case(session, actor=principal, case_id=case_id, data=data)
    except ValidationError as exc:
        names = {"user_id": N_("共享给（账号编号）"), "purpose": N_("用途"), "note": N_("说明")}
        fields = i18n.translate(SEPARATOR).join(
            dict.fromkeys(i18n.translate(names.get(str(e["loc"][0]), str(e["loc"][0]))) for e in exc.errors())
        )
        error = i18n.translate("请检查：{fields}").format(fields=fields)
        return _page(request, principal, session, case_id, error=error, status=422)
    except JiayuanError as exc:
        session.rollback()
        return _page(request, principal, session, case_id, error=i18n.error_text(exc), status=exc.status)
    notice = quote(
        i18n.translate("已共享给 {name}（{purpose}）").format(
            name=done.user_name, purpose=i18n.translate(done.purpose_label)
        )
    )
    return RedirectResponse(f"/console/cases/{case_id}/shares?notice={notice}", status_code=303)


@pages.post("/{case_id}/shares/{share_id}/revoke")
def revoke_form(
    request: Request, case_id: RowId, share_id: RowId, principal: PagePrincipal, session: SessionDep
) -> Response:
    """Revoke from the page."""
    try:
        done = sharing.revoke_share(session, actor=principal, case_id=case_id, share_id=share_id)
    except JiayuanError as exc:
        session.rollback()
        return _page(request, principal, session, case_id, error=i18n.error_text(exc), status=exc.status)
    notice = quote(i18n.translate("已撤销对 {name} 的共享").format(name=done.user_name))
    return RedirectResponse(f"/console/cases/{case_id}/shares?notice={notice}", status_code=303)


def _page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    case_id: int,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    case = reads.show_case(session, actor=principal, case_id=case_id)
    shares = sharing.list_shares(session, actor=principal, case_id=case_id)
    values = {
        "case": case,
        "shares": shares,
        "purposes": SHARE_PURPOSE_LABELS,
        "notice": notice,
        "error": error,
    }
    return render(request, "cases/shares.html", values, status_code=status)
