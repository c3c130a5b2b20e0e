"""Residents in Excel: export, template and all-or-nothing import, as API endpoints and a console page."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from starlette.responses import Response

from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.errors import Invalid, JiayuanError, RowErrors
from jiayuan.registry import excel
from jiayuan.registry.policies import may_reveal, require_can_change_registry
from jiayuan.registry.schemas import REASON_MIN, ImportReport
from jiayuan.registry.service import importing
from jiayuan.web import i18n
from jiayuan.web.auth import CurrentPrincipal, PagePrincipal, client_ip
from jiayuan.web.deps import ContextDep, SessionDep
from jiayuan.web.i18n import N_
from jiayuan.web.import_worker import run_import
from jiayuan.web.templating import render

api = APIRouter(prefix="/api/v1", tags=["registry"])
pages = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_XLSX_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {XLSX: {}}}}
_IMPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "未登录"},
    403: {"description": "只有管理员和社区工作人员可以导入"},
    422: {"description": "文件无法读取，或列出每一行的错误（行号、列名、原因），未写入任何数据"},
}


def _attachment(content: bytes, stem: str) -> Response:
    filename = f"{stem}-{local(utcnow()):%Y%m%d-%H%M}.xlsx"
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{filename}"},
    )


async def _upload(file: UploadFile) -> bytes:
    """The uploaded bytes, refused (422) past the size limit without reading further."""
    content = await file.read(excel.MAX_BYTES + 1)
    if len(content) > excel.MAX_BYTES:
        raise Invalid(
            "文件过大（超过 {mb} MB），请分批导入", field="file", mb=excel.MAX_BYTES // (1024 * 1024)
        )
    return content


@api.get("/residents/export.xlsx", response_class=Response, responses=_XLSX_RESPONSE)
def export_residents(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    context: ContextDep,
    full: Annotated[
        bool, Query(description="导出完整身份证号和手机号（仅管理员、社区工作人员，须填理由）")
    ] = False,
    reason: Annotated[str | None, Query(max_length=200, description="导出理由（记入审计）")] = None,
) -> Response:
    """Residents in scope as Excel, numbers masked; `full` (admin/staff, with a reason) puts whole
    numbers in. Every export is audited with its row count."""
    content = importing.export_residents(
        session, actor=principal, vault=context.vault, full=full, reason=reason, ip=client_ip(request)
    )
    return _attachment(content, "residents")


@api.get("/residents/template.xlsx", response_class=Response, responses=_XLSX_RESPONSE)
def resident_template(principal: CurrentPrincipal) -> Response:
    """The blank import template with an instructions sheet."""
    return _attachment(importing.template_workbook(), "residents-template")


@api.post("/residents/import", response_model=ImportReport, responses=_IMPORT_ERRORS)
async def import_residents(
    file: Annotated[UploadFile, File(description="居民信息表 .xlsx")],
    principal: CurrentPrincipal,
    session: SessionDep,
    context: ContextDep,
    dry_run: Annotated[bool, Query(description="只检查并列出每行将新增或改动的内容，不写入")] = False,
) -> ImportReport:
    """Check every row, then write them all (or, with `dry_run`, only say what would change); 422 with
    every row's errors and nothing written otherwise. Columns the file lacks and empty cells change
    nothing; 清空 clears an optional column."""
    content = await _upload(file)
    report = await run_import(context, session, actor=principal, content=content, write=not dry_run)
    return report.in_language(i18n.text)


@pages.get("/residents/import")
def import_page(request: Request, principal: PagePrincipal) -> Response:
    """The upload form, with links to the template and the export."""
    require_can_change_registry(principal, N_("只有管理员和社区工作人员可以导入导出居民"))
    values: dict[str, Any] = {"result": None, "errors": [], "problem": None, "reason_min": REASON_MIN}
    return render(request, "registry/import.html", values | {"may_reveal": may_reveal(principal)})


@pages.post("/residents/import")
async def import_upload(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    context: ContextDep,
    file: Annotated[UploadFile, File()],
    mode: Annotated[Literal["check", "import"], Form()] = "check",
) -> Response:
    """Check a file (what each row would add or change) or import it; show the report, or every bad
    row and a workbook marking them."""
    values: dict[str, Any] = {"result": None, "errors": [], "problem": None, "filename": file.filename or ""}
    status = 200
    try:
        content = await _upload(file)
        write = mode == "import"
        report = await run_import(context, session, actor=principal, content=content, write=write)
        values["result"] = report.in_language(i18n.text)
    except RowErrors as failure:
        session.rollback()  # the page is answered normally: nothing of a refused import may commit
        status = 422
        values["errors"] = failure.errors
        marked = importing.error_workbook(content, failure.errors)
        values["error_workbook"] = base64.b64encode(marked).decode("ascii")
    except JiayuanError as problem:
        session.rollback()
        status = problem.status
        values["problem"] = i18n.error_text(problem)
    if request.headers.get("HX-Request"):
        # htmx swaps only 2xx answers; the refusal is in the fragment itself.
        return render(request, "registry/_import_result.html", values)
    values |= {"reason_min": REASON_MIN, "may_reveal": may_reveal(principal)}
    return render(request, "registry/import.html", values, status_code=status)
