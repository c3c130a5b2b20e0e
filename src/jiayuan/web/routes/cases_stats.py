"""Case statistics: JSON API, the console page 事件统计 and the weekly report downloads (Excel, PDF)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from jiayuan.cases.schemas import CaseStats
from jiayuan.cases.service import stats
from jiayuan.cases.stats_book import workbook
from jiayuan.kernel.principal import Principal
from jiayuan.web import i18n
from jiayuan.web.auth import CurrentPrincipal, PagePrincipal
from jiayuan.web.case_reports import case_statistics, report_pdf
from jiayuan.web.deps import SessionDep
from jiayuan.web.templating import render

api = APIRouter(prefix="/api/v1/cases", tags=["cases"])
pages = APIRouter(prefix="/console/cases", tags=["console"], include_in_schema=False)

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "未登录"},
    403: {"description": "该角色无权查看事件统计"},
    422: {"description": "日期或周有误（指出字段）"},
}
Start = Annotated[
    str, Query(max_length=32, description="起始日期（北京时间），如 2026-12-01；默认 end 前 6 天")
]
End = Annotated[str, Query(max_length=32, description="结束日期（含），默认今天")]
Week = Annotated[str, Query(max_length=32, description="ISO 周，如 2026-W49（与 start、end 二选一）")]
_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@api.get("/stats", response_model=CaseStats, responses=_ERRORS)
def get_stats(
    principal: CurrentPrincipal, session: SessionDep, start: Start = "", end: End = "", week: Week = ""
) -> CaseStats:
    """Times to accept, arrive and close (median, P90), overdue, per grid, worker and category, and
    patrol rounds done and missed, for the cases reported in the period within reach."""
    return case_statistics(session, actor=principal, within=stats.period(start=start, end=end, week=week))


@api.get("/report", responses={**_ERRORS, 200: {"content": {t: {} for t in _TYPES.values()}}})
def get_report(
    principal: CurrentPrincipal,
    session: SessionDep,
    week: Annotated[str, Query(max_length=32, description="ISO 周，如 2026-W49")],
    format: Annotated[Literal["pdf", "xlsx"], Query(description="pdf 或 xlsx")] = "pdf",
) -> Response:
    """The weekly report of a week as a PDF or an Excel file."""
    return _report(session, principal, week, format)


@pages.get("/stats")
def stats_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    start: Start = "",
    end: End = "",
    week: Week = "",
) -> Response:
    """Tables of the period's figures, a chart per category, and the week's report to download."""
    within = stats.period(start=start, end=end, week=week)
    figures = case_statistics(session, actor=principal, within=within)
    figures.by_grid = [row.in_language(i18n.text) for row in figures.by_grid]
    iso = within.first.isocalendar()
    report_week = week.strip().upper() or f"{iso.year}-W{iso.week:02d}"
    if week.strip():
        period = i18n.translate("{year} 年第 {week} 周").format(year=iso.year, week=iso.week)
    else:
        period = i18n.translate("{first} 至 {last}").format(first=within.first, last=within.last)
    values = {"stats": figures, "period": period, "start": start, "end": end, "week": week}
    values["report_week"] = report_week
    return render(request, "cases/stats.html", values)


@pages.get("/report")
def report_download(
    principal: PagePrincipal,
    session: SessionDep,
    week: Annotated[str, Query(max_length=32)],
    format: Annotated[Literal["pdf", "xlsx"], Query()] = "pdf",
) -> Response:
    """The weekly report from the console's download links."""
    return _report(session, principal, week, format)


def _report(session: SessionDep, principal: Principal, week: str, kind: str) -> Response:
    within = stats.week_period(week)
    figures = case_statistics(session, actor=principal, within=within)
    body = report_pdf(figures) if kind == "pdf" else workbook(figures)
    iso = within.first.isocalendar()
    name = f"事件统计周报-{iso.year}-W{iso.week:02d}.{kind}"
    disposition = f"attachment; filename=\"report.{kind}\"; filename*=UTF-8''{quote(name)}"
    return Response(body, media_type=_TYPES[kind], headers={"Content-Disposition": disposition})
