"""Helper of `cases.service.stats`: the weekly report as an Excel workbook (no database): 概况, then one sheet
per grid, worker and category."""

from __future__ import annotations

import io

import xlsxwriter

from jiayuan.cases.schemas import CaseStats, CountRow, Durations
from jiayuan.kernel.clock import local

COUNT_HEADINGS = ("名称", "上报", "未结案", "已结案", "超时未办")


def summary_rows(stats: CaseStats) -> list[tuple[str, str | int | float]]:
    """The 概况 lines shared by the workbook and the PDF: a label and its figure."""
    rows: list[tuple[str, str | int | float]] = [
        ("统计周期", stats.period_label),
        ("起止（北京时间）", f"{local(stats.since):%Y-%m-%d %H:%M} 至 {local(stats.until):%Y-%m-%d %H:%M}"),
        ("上报事件", stats.total),
        ("已结案", stats.closed),
        ("未结案", stats.open),
        ("超时未办", stats.overdue),
        ("曾升级", stats.escalated),
    ]
    for label, spans in (("受理", stats.to_accept), ("到场", stats.to_arrive), ("结案", stats.to_close)):
        rows.append((f"{label}用时中位数（分钟）", _minutes(spans, median=True)))
        rows.append((f"{label}用时 P90（分钟）", _minutes(spans, median=False)))
    if stats.patrol is not None:
        rows += [
            ("视频巡查应巡轮次", stats.patrol.slots),
            ("已巡", stats.patrol.done),
            ("漏巡", stats.patrol.missed),
            ("巡查发现问题", stats.patrol.findings),
        ]
    return rows


def _minutes(spans: Durations, *, median: bool) -> str | float:
    value = spans.median_minutes if median else spans.p90_minutes
    return "—" if value is None else value


def workbook(stats: CaseStats) -> bytes:
    """The report as .xlsx bytes."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("概况")
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 36)
    sheet.write(0, 0, "事件统计周报", bold)
    for line, (label, value) in enumerate(summary_rows(stats), start=1):
        sheet.write(line, 0, label)
        sheet.write(line, 1, value)
    for title, rows in (
        ("按网格", stats.by_grid),
        ("按处置人", stats.by_worker),
        ("按类别", stats.by_category),
    ):
        _counts(book.add_worksheet(title), rows, bold)
    book.close()
    return buffer.getvalue()


def _counts(
    sheet: xlsxwriter.worksheet.Worksheet, rows: list[CountRow], bold: xlsxwriter.format.Format
) -> None:
    sheet.set_column(0, 0, 20)
    for column, heading in enumerate(COUNT_HEADINGS):
        sheet.write(0, column, heading, bold)
    for line, row in enumerate(rows, start=1):
        for column, value in enumerate((row.label, row.total, row.open, row.closed, row.overdue)):
            sheet.write(line, column, value)
