"""Console page 事件: the cases within reach by state, one case with its history, and a form for each
action its state allows (CSRF-checked)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from jiayuan.cases import policies
from jiayuan.cases.attachments import MAX_PER_STEP, MAX_UPLOAD_BYTES
from jiayuan.cases.schemas import ActionIn, CaseFilter, CaseOut, Category, MergeIn, Source
from jiayuan.cases.service import reads, uploads, workflow
from jiayuan.cases.states import CaseAction, CaseState
from jiayuan.kernel.errors import Invalid, JiayuanError
from jiayuan.kernel.i18n import N_, SEPARATOR
from jiayuan.kernel.paging import MAX_PAGE, PageParams
from jiayuan.registry.service import structure
from jiayuan.web import i18n
from jiayuan.web.auth import PagePrincipal
from jiayuan.web.deps import RowId, SessionDep
from jiayuan.web.templating import render

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)


@router.get("/cases")
def cases_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    state: Annotated[str, Query(max_length=16)] = "",
    category: Annotated[str, Query(max_length=24)] = "",
    source: Annotated[str, Query(max_length=16)] = "",
    grid_id: Annotated[str, Query(max_length=12)] = "",
    mine: Annotated[str, Query(max_length=8)] = "",
    overdue: Annotated[str, Query(max_length=8)] = "",
    text: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    """The case board: cases within reach, newest first, narrowed by the filters as typed (a filter that
    cannot be read is said, and the board shows everything rather than a blank page)."""
    typed = {"state": state, "category": category, "source": source, "grid_id": grid_id, "mine": mine}
    typed |= {"overdue": overdue, "text": text.strip()}
    query = {k: v for k, v in typed.items() if v}
    problem = None
    try:
        filters = CaseFilter.model_validate(query)
    except ValidationError as exc:
        problem = i18n.translate("筛选条件有误：") + i18n.translate(SEPARATOR).join(
            i18n.translate(_FILTER_LABELS.get(str(e["loc"][0]), N_("筛选"))) for e in exc.errors()
        )
        filters, query = CaseFilter(), {}
    results = reads.list_cases(
        session, actor=principal, filters=filters, params=PageParams(page=page, size=50)
    )
    pages = (results.total + results.size - 1) // results.size + (0 if results.total_exact else 1)
    values = {
        "results": results,
        "states": list(CaseState),
        "categories": list(Category),
        "sources": list(Source),
        "grids": structure.list_grids(session, actor=principal),
        "filters": filters,
        "pages": pages,
        "query": query,
        "problem": problem,
    }
    return render(request, "cases/cases.html", values)


_FILTER_LABELS = {
    "state": N_("状态"),
    "category": N_("类别"),
    "source": N_("来源"),
    "grid_id": N_("网格"),
    "mine": N_("派给我的"),
}
_FILTER_LABELS |= {"overdue": N_("已超时"), "text": N_("关键词")}


@router.get("/cases/{case_id}")
def case_page(
    request: Request,
    case_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    notice: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """One case: where, what, its history and what can be done next."""
    case = reads.show_case(session, actor=principal, case_id=case_id)
    return render(request, "cases/case.html", _case_values(session, principal, case, notice=notice))


@router.post("/cases/{case_id}/actions")
def case_action(
    request: Request,
    case_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    action: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=500)] = "",
    assignee_user_id: Annotated[str, Form(max_length=12)] = "",
    files: Annotated[list[UploadFile] | None, File(description="照片或语音")] = None,
) -> Response:
    """Take one action with its photos; back to the case with what was done, or the case again with
    why not (and nothing kept, uploads included)."""
    try:
        given = [f for f in files or [] if f.filename]
        if len(given) > MAX_PER_STEP:
            raise Invalid("一次至多 {n} 个文件", field="files", n=MAX_PER_STEP)
        uploaded = [
            uploads.upload_attachment(session, actor=principal, data=f.file.read(MAX_UPLOAD_BYTES + 1))
            for f in given
        ]
        data = ActionIn.model_validate(
            {
                "action": action,
                "note": note,
                "assignee_user_id": assignee_user_id.strip() or None,
                "attachment_ids": [u.id for u in uploaded],
            }
        )
        done = workflow.act(session, actor=principal, case_id=case_id, data=data)
    except ValidationError as exc:
        session.rollback()
        message = i18n.translate("输入有误：") + "；".join(
            f"{'.'.join(map(str, e['loc']))} {e['msg']}" for e in exc.errors()
        )
        return _refused(request, principal, session, case_id, message, 422)
    except JiayuanError as exc:
        session.rollback()
        return _refused(request, principal, session, case_id, i18n.error_text(exc), exc.status)
    notice = quote(
        i18n.translate("已{action}，现在是“{state}”").format(
            action=i18n.translate(data.action.label), state=i18n.translate(done.state_label)
        )
    )
    return RedirectResponse(f"/console/cases/{case_id}?notice={notice}", status_code=303)


@router.post("/cases/{case_id}/merge")
def case_merge(
    request: Request,
    case_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    into_case_id: Annotated[str, Form(max_length=12)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Merge this duplicate into the case it repeats; on to that case, or this one again with why not."""
    try:
        data = MergeIn.model_validate(
            {"into_case_id": into_case_id.strip().lstrip("#") or None, "note": note}
        )
        done = workflow.merge(session, actor=principal, case_id=case_id, data=data)
    except ValidationError:
        session.rollback()
        return _refused(
            request, principal, session, case_id, i18n.translate("请填写要并入的事件编号（数字）"), 422
        )
    except JiayuanError as exc:
        session.rollback()
        return _refused(request, principal, session, case_id, i18n.error_text(exc), exc.status)
    notice = quote(i18n.translate("已将 #{id} 作为重复上报并入此事件").format(id=case_id))
    return RedirectResponse(f"/console/cases/{done.id}?notice={notice}", status_code=303)


def _refused(
    request: Request, principal: PagePrincipal, session: SessionDep, case_id: int, message: str, status: int
) -> Response:
    case = reads.show_case(session, actor=principal, case_id=case_id)
    values = _case_values(session, principal, case, error=message)
    return render(request, "cases/case.html", values, status_code=status)


def _case_values(
    session: SessionDep,
    principal: PagePrincipal,
    case: CaseOut,
    *,
    notice: str | None = None,
    error: str | None = None,
) -> dict[str, object]:
    assignees = (
        workflow.assignees(session, actor=principal, case_id=case.id)
        if CaseAction.DISPATCH in case.allowed
        else []
    )
    return {
        "case": case,
        "notice": notice,
        "error": error,
        "may_merge": policies.may_merge(principal)
        and not case.merged_into_id
        and case.state is not CaseState.CLOSED,
        "assignees": assignees,
    }
