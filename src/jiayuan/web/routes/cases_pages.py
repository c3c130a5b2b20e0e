"""Console page 事件: the cases within reach by state, one case with its history, and a form for each
action its state allows (CSRF-checked)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from jiayuan.cases import service
from jiayuan.cases.attachments import MAX_PER_STEP, MAX_UPLOAD_BYTES
from jiayuan.cases.schemas import ActionIn
from jiayuan.cases.states import CaseState
from jiayuan.kernel.errors import Invalid, JiayuanError
from jiayuan.kernel.paging import MAX_PAGE, PageParams
from jiayuan.web.auth import PagePrincipal
from jiayuan.web.deps import RowId, SessionDep
from jiayuan.web.templating import render

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)


@router.get("/cases")
def cases_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    state: Annotated[CaseState | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    """The cases within reach, newest first, optionally in one state."""
    results = service.list_cases(session, actor=principal, state=state, params=PageParams(page=page, size=50))
    pages = (results.total + results.size - 1) // results.size
    query = {"state": state.value} if state else {}
    values = {"results": results, "states": list(CaseState), "state": state, "pages": pages, "query": query}
    return render(request, "cases/cases.html", values)


@router.get("/cases/{case_id}")
def case_page(
    request: Request,
    case_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    notice: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """One case: where, what, its history and what can be done next."""
    case = service.show_case(session, actor=principal, case_id=case_id)
    return render(request, "cases/case.html", {"case": case, "notice": notice, "error": None})


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
            raise Invalid(f"一次至多 {MAX_PER_STEP} 个文件", field="files")
        uploaded = [
            service.upload_attachment(session, actor=principal, data=f.file.read(MAX_UPLOAD_BYTES + 1))
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
        done = service.act(session, actor=principal, case_id=case_id, data=data)
    except ValidationError as exc:
        session.rollback()
        message = "输入有误：" + "；".join(f"{'.'.join(map(str, e['loc']))} {e['msg']}" for e in exc.errors())
        return _refused(request, principal, session, case_id, message, 422)
    except JiayuanError as exc:
        session.rollback()
        return _refused(request, principal, session, case_id, exc.message, exc.status)
    notice = quote(f"已{data.action.label}，现在是“{done.state_label}”")
    return RedirectResponse(f"/console/cases/{case_id}?notice={notice}", status_code=303)


def _refused(
    request: Request, principal: PagePrincipal, session: SessionDep, case_id: int, message: str, status: int
) -> Response:
    case = service.show_case(session, actor=principal, case_id=case_id)
    return render(
        request, "cases/case.html", {"case": case, "notice": None, "error": message}, status_code=status
    )
