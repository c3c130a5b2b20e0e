"""The audit log as an Excel workbook with Chinese headers."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

import xlsxwriter

from jiayuan.accounts.schemas import ACTION_LABELS, TARGET_LABELS, AuditOut
from jiayuan.kernel.clock import local
from jiayuan.kernel.principal import ROLE_LABELS, Role

HEADERS = (
    "时间（北京时间）",
    "操作人",
    "角色",
    "操作",
    "操作代码",
    "对象类型",
    "对象编号",
    "对象",
    "原因",
    "社区",
    "IP",
    "详情",
)
_WIDTHS = (20, 14, 12, 16, 18, 12, 12, 18, 30, 8, 16, 50)


def _role(value: str) -> str:
    try:
        return ROLE_LABELS[Role(value)]
    except ValueError:
        return value


def audit_workbook(rows: Sequence[AuditOut]) -> bytes:
    """An .xlsx file of the rows, newest first, one row per entry."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = workbook.add_worksheet("审计日志")
    bold = workbook.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    for column, (title, width) in enumerate(zip(HEADERS, _WIDTHS, strict=True)):
        sheet.write_string(0, column, title, bold)
        sheet.set_column(column, column, width)
    sheet.freeze_panes(1, 0)
    for line, row in enumerate(rows, start=1):
        values = (
            local(row.at).strftime("%Y-%m-%d %H:%M:%S"),
            row.actor_name,
            _role(row.actor_role),
            ACTION_LABELS.get(row.action, row.action),
            row.action,
            TARGET_LABELS.get(row.target_type, row.target_type),
            row.target_id or "",
            row.target_label or "",
            row.reason or "",
            "" if row.community_id is None else str(row.community_id),
            row.ip or "",
            json.dumps(row.detail, ensure_ascii=False) if row.detail else "",
        )
        for column, value in enumerate(values):
            # Text only: a value such as "=cmd" must never become a formula.
            sheet.write_string(line, column, value)
    sheet.autofilter(0, 0, max(len(rows), 1), len(HEADERS) - 1)
    workbook.close()
    return buffer.getvalue()
