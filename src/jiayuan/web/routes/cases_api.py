"""JSON API of cases: raise one, list and read them within reach, take an action on one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Response, UploadFile

from jiayuan.cases.attachments import MAX_UPLOAD_BYTES
from jiayuan.cases.schemas import (
    ActionIn,
    AttachmentOut,
    CaseFilter,
    CaseIn,
    CaseOut,
    CasePage,
    DeadlineIn,
    DeadlineOut,
    MergeIn,
)
from jiayuan.cases.service import reads, reporting, uploads, workflow
from jiayuan.kernel.ids import MAX_ROW_ID
from jiayuan.kernel.paging import MAX_PAGE, MAX_PAGE_SIZE, PageParams
from jiayuan.web.auth import CurrentPrincipal
from jiayuan.web.deps import ContextDep, RowId, SessionDep

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "未登录"},
    403: {"description": "角色无权查看或执行此操作"},
    404: {"description": "事件不存在或不在权限范围内"},
    409: {"description": "当前状态不允许此操作（说明可以做什么）"},
    422: {"description": "输入有误（指出字段）"},
}


@router.post("", response_model=CaseOut, status_code=201, responses=_ERRORS)
def report_case(data: CaseIn, principal: CurrentPrincipal, session: SessionDep) -> CaseOut:
    """上报: a resident at their own household, staff and grid workers at a household or in a community."""
    return reporting.report_case(session, actor=principal, data=data)


@router.get("", response_model=CasePage, responses=_ERRORS)
def list_cases(
    principal: CurrentPrincipal,
    session: SessionDep,
    filters: Annotated[CaseFilter, Query()],
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> CasePage:
    """Cases within reach, newest first (without their histories), narrowed by state, category, source,
    grid, `mine` (dispatched to me), `overdue` and `text` (in the title or place)."""
    return reads.list_cases(
        session, actor=principal, filters=filters, params=PageParams(page=page, size=size)
    )


@router.get("/deadlines", response_model=list[DeadlineOut], responses=_ERRORS)
def deadlines(
    principal: CurrentPrincipal, session: SessionDep, community_id: Annotated[int, Query(ge=1, le=MAX_ROW_ID)]
) -> list[DeadlineOut]:
    """A community's time limit for every category and step (its own where set, else the default)."""
    return workflow.deadline_table(session, actor=principal, community_id=community_id)


@router.put("/deadlines", response_model=DeadlineOut, responses=_ERRORS)
def set_deadline(
    data: DeadlineIn,
    principal: CurrentPrincipal,
    session: SessionDep,
    community_id: Annotated[int, Query(ge=1, le=MAX_ROW_ID)],
) -> DeadlineOut:
    """Set one limit (community admins); audited with the value before."""
    return workflow.set_deadline(session, actor=principal, community_id=community_id, data=data)


@router.post("/attachments", response_model=AttachmentOut, status_code=201, responses=_ERRORS)
def upload_attachment(
    file: Annotated[UploadFile, File(description="照片（JPEG、PNG、WebP，10 MB 以内）或语音（2 MB 以内）")],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> AttachmentOut:
    """Upload a photo or voice note, then give its id in `attachment_ids` with a report or an action
    within a day. Photos are kept re-encoded, upright and without their EXIF block (no GPS)."""
    return uploads.upload_attachment(session, actor=principal, data=file.file.read(MAX_UPLOAD_BYTES + 1))


@router.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    responses=_ERRORS | {200: {"content": {"image/jpeg": {}, "audio/webm": {}}, "description": "文件"}},
)
def read_attachment(attachment_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> Response:
    """A photo or voice note of a case within reach (or one's own upload not yet given)."""
    found = uploads.attachment_file(session, actor=principal, attachment_id=attachment_id)
    return Response(
        found.data,
        media_type=found.content_type,
        headers={"Cache-Control": "private, max-age=3600", "Content-Disposition": "inline"},
    )


@router.get("/{case_id}", response_model=CaseOut, responses=_ERRORS)
def show_case(case_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> CaseOut:
    """One case with its history and the actions its state allows."""
    return reads.show_case(session, actor=principal, case_id=case_id)


@router.post("/{case_id}/actions", response_model=CaseOut, responses=_ERRORS)
def take_action(
    case_id: RowId, data: ActionIn, principal: CurrentPrincipal, session: SessionDep, context: ContextDep
) -> CaseOut:
    """受理、派遣、到场、处置、核查、结案, or 退回 (with a reason), 升级, 重开 (the reporter: within
    JIAYUAN_CASE_REOPEN_DAYS of 结案)."""
    return workflow.act(
        session, actor=principal, case_id=case_id, data=data, reopen_days=context.settings.case_reopen_days
    )


@router.post("/{case_id}/merge", response_model=CaseOut, responses=_ERRORS)
def merge_case(case_id: RowId, data: MergeIn, principal: CurrentPrincipal, session: SessionDep) -> CaseOut:
    """合并: close this duplicate report into the open case it repeats (the office); its reporter follows
    that case from now on. Answers with the case merged into."""
    return workflow.merge(session, actor=principal, case_id=case_id, data=data)
