"""Resident workbooks: the column layout, reading any cell as text, writing exports, templates, error files.

Reading goes through python-calamine (fast, typed cells); writing through XlsxWriter. Every cell is
read back as text because Excel turns long digit strings into floats: an 18-digit ID number stored as
a number has already lost its last digits, and that is reported rather than guessed.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import xlsxwriter
from python_calamine import CalamineWorkbook

from jiayuan.kernel.errors import Invalid, RowError
from jiayuan.registry.schemas import Gender, Relation, ResidenceType, Tag

SHEET = "居民"
INSTRUCTIONS_SHEET = "填写说明"
ERROR_COLUMN = "错误原因"
COLUMNS: tuple[str, ...] = (
    "小区", "楼栋", "单元", "户号", "姓名", "性别", "出生日期", "身份证号", "手机号",
    "与户主关系", "居住类型", "标签", "入住日期", "迁出日期", "备注",
)  # fmt: skip
REQUIRED: frozenset[str] = frozenset({"小区", "楼栋", "单元", "户号", "姓名", "身份证号", "与户主关系"})
# A community has a few thousand residents; a district export is still far below this.
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000

_HELP: dict[str, str] = {
    "小区": "必填。系统中已有的小区名称，如“锦江花园”",
    "楼栋": "必填。如“3号楼”",
    "单元": "必填。如“2单元”",
    "户号": "必填。房号，如“301”；该单元下没有此户时自动新建",
    "姓名": "必填。2–32 个字，不含数字",
    "性别": "男或女；可不填，按身份证号判断；填写时须与身份证号一致",
    "出生日期": "如 1990-03-07；可不填，按身份证号判断；填写时须与身份证号一致",
    "身份证号": "必填。18 位，末位可为 X；请将该列设为“文本”，否则 Excel 会丢失末几位",
    "手机号": "11 位手机号或带区号的固话，可不填",
    "与户主关系": "必填。" + "、".join(r.value for r in Relation),
    "居住类型": "、".join(r.value for r in ResidenceType) + "；不填为户籍",
    "标签": "可多个，用顿号或逗号分隔：" + "、".join(t.value for t in Tag),
    "入住日期": "如 2015-06-01，可不填",
    "迁出日期": "如 2024-01-31，可不填；不得早于入住日期",
    "备注": "最多 255 个字",
}
_EXAMPLE = (
    "锦江花园", "1号楼", "1单元", "101", "刘莹", "女", "1990-03-07", "41018119900307002X", "13812345678",
    "户主", "户籍", "党员", "2015-06-01", "", "",
)  # fmt: skip
_TEXT_COLUMNS = frozenset({"户号", "身份证号", "手机号", "出生日期", "入住日期", "迁出日期"})
_WIDTHS = {
    "身份证号": 21,
    "手机号": 14,
    "出生日期": 12,
    "入住日期": 12,
    "迁出日期": 12,
    "标签": 18,
    "备注": 24,
}


@dataclass(frozen=True)
class SheetRow:
    """One data row as text, keyed by column title; `number` is the row number Excel shows."""

    number: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        """The cell's text ('' when empty or absent)."""
        return self.values.get(column, "")


@dataclass(frozen=True)
class Sheet:
    """The rows of an uploaded workbook, the titles it used and the cells as they were written."""

    headers: list[str]
    rows: list[SheetRow]
    raw: list[list[str]]
    header_row: int


def cell_text(value: object, *, column: str = "") -> str:
    """A cell as the text a person typed: integers without `.0`, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            # 17+ digit integers are beyond a float's precision: mark them so validation can say why.
            text = f"{value:.0f}"
            return text if abs(value) < 1e15 or column != "身份证号" else f"{text}（数字格式）"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return str(value).strip()


def read_sheet(content: bytes) -> Sheet:
    """Parse an uploaded workbook; Invalid (field `file`) when it is not a readable .xlsx of residents."""
    if not content:
        raise Invalid("文件为空，请上传 .xlsx 格式的居民信息表", field="file")
    if len(content) > MAX_BYTES:
        raise Invalid(f"文件过大（超过 {MAX_BYTES // (1024 * 1024)} MB），请分批导入", field="file")
    if not content.startswith(b"PK"):
        raise Invalid("无法读取文件：请上传 .xlsx 格式的 Excel 文件（可先下载模板）", field="file")
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        names = list(workbook.sheet_names)
        sheet = workbook.get_sheet_by_name(SHEET if SHEET in names else names[0])
        cells = sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises several error types for damaged files
        raise Invalid("无法读取文件：文件已损坏或不是 .xlsx 格式的 Excel 文件", field="file") from exc
    return _rows_of(cells)


def _rows_of(cells: Sequence[Sequence[object]]) -> Sheet:
    header_index = next(
        (i for i, row in enumerate(cells[:20]) if {"姓名", "身份证号"} <= {cell_text(c) for c in row}), None
    )
    if header_index is None:
        raise Invalid(
            "找不到表头：第一行应为“小区、楼栋、单元、户号、姓名、身份证号……”（可先下载模板）", field="file"
        )
    headers = [cell_text(c) for c in cells[header_index]]
    missing = [c for c in COLUMNS if c in REQUIRED and c not in headers]
    if missing:
        raise Invalid(f"表头缺少必填列：{'、'.join(missing)}", field="file")
    if len(cells) - header_index - 1 > MAX_ROWS:
        raise Invalid(f"行数过多（超过 {MAX_ROWS:,} 行），请分批导入", field="file")
    known = {i: title for i, title in enumerate(headers) if title in COLUMNS}
    rows: list[SheetRow] = []
    raw: list[list[str]] = []
    for offset, cells_of_row in enumerate(cells[header_index + 1 :], start=header_index + 2):
        texts = [
            cell_text(c, column=headers[i] if i < len(headers) else "") for i, c in enumerate(cells_of_row)
        ]
        raw.append(texts)
        values = {title: texts[i] for i, title in known.items() if i < len(texts)}
        if any(values.values()):
            rows.append(SheetRow(offset, values))
    return Sheet(headers=headers, rows=rows, raw=raw, header_row=header_index + 1)


def _workbook(buffer: io.BytesIO, *, stream: bool = False) -> xlsxwriter.Workbook:
    return xlsxwriter.Workbook(buffer, {"constant_memory": stream, "strings_to_numbers": False})


def _header(workbook: xlsxwriter.Workbook, sheet: object, titles: Sequence[str]) -> None:
    bold = workbook.add_format({"bold": True, "bg_color": "#E8F0E0", "border": 1})
    text = workbook.add_format({"num_format": "@"})
    for index, title in enumerate(titles):
        sheet.set_column(index, index, _WIDTHS.get(title, 10), text if title in _TEXT_COLUMNS else None)  # type: ignore[attr-defined]
        sheet.write_string(0, index, title, bold)  # type: ignore[attr-defined]
    sheet.freeze_panes(1, 0)  # type: ignore[attr-defined]


def write_rows(rows: Iterable[Sequence[str]]) -> bytes:
    """A workbook of residents: the header, then one row of text cells per resident (streamed)."""
    buffer = io.BytesIO()
    workbook = _workbook(buffer, stream=True)
    sheet = workbook.add_worksheet(SHEET)
    _header(workbook, sheet, COLUMNS)
    for number, row in enumerate(rows, start=1):
        for index, value in enumerate(row):
            if value:
                sheet.write_string(number, index, value)
    workbook.close()
    return buffer.getvalue()


def template() -> bytes:
    """A blank resident sheet with its header, dropdowns, and a sheet of instructions with an example."""
    buffer = io.BytesIO()
    workbook = _workbook(buffer)
    sheet = workbook.add_worksheet(SHEET)
    _header(workbook, sheet, COLUMNS)
    lists: dict[str, list[str]] = {
        "性别": [g.value for g in Gender],
        "与户主关系": [r.value for r in Relation],
        "居住类型": [r.value for r in ResidenceType],
    }
    for title, choices in lists.items():
        column = COLUMNS.index(title)
        sheet.data_validation(1, column, MAX_ROWS, column, {"validate": "list", "source": choices})
    guide = workbook.add_worksheet(INSTRUCTIONS_SHEET)
    bold = workbook.add_format({"bold": True})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    guide.set_column(0, 0, 12)
    guide.set_column(1, 1, 70)
    guide.set_column(2, 2, 22)
    guide.write_row(0, 0, ["列", "填写要求", "示例"], bold)
    for number, title in enumerate(COLUMNS, start=1):
        guide.write_string(number, 0, title, bold if title in REQUIRED else None)
        guide.write_string(number, 1, _HELP[title], wrap)
        guide.write_string(number, 2, _EXAMPLE[number - 1])
    last = len(COLUMNS) + 2
    guide.write_string(last, 0, "说明", bold)
    guide.write_string(
        last,
        1,
        "在“居民”表中每人一行。导入时先检查全部行，只要有一行有误就不写入任何数据，"
        "并给出每个错误的行号、列名和原因；可下载带“错误原因”列的文件修改后重新导入。"
        "同一身份证号再次导入会更新原记录，不会重复登记。",
        wrap,
    )
    workbook.close()
    return buffer.getvalue()


def with_errors(sheet: Sheet, errors: Sequence[RowError]) -> bytes:
    """The uploaded rows written back with a 错误原因 column beside them (failing rows highlighted)."""
    reasons: dict[int, list[str]] = {}
    for error in errors:
        reasons.setdefault(error.row, []).append(f"{error.column}：{error.reason}")
    keep = [i for i, title in enumerate(sheet.headers) if title != ERROR_COLUMN]
    titles = [sheet.headers[i] for i in keep]
    buffer = io.BytesIO()
    workbook = _workbook(buffer)
    worksheet = workbook.add_worksheet(SHEET)
    _header(workbook, worksheet, [*titles, ERROR_COLUMN])
    worksheet.set_column(len(titles), len(titles), 50)
    marked = workbook.add_format({"bg_color": "#FDE2E1"})
    reason_format = workbook.add_format({"bg_color": "#FDE2E1", "font_color": "#B00020", "text_wrap": True})
    for index, texts in enumerate(sheet.raw):
        number = sheet.header_row + 1 + index
        found = reasons.get(number)
        for column, source in enumerate(keep):
            value = texts[source] if source < len(texts) else ""
            worksheet.write_string(index + 1, column, value, marked if found else None)
        if found:
            worksheet.write_string(index + 1, len(titles), "；".join(found), reason_format)
    workbook.close()
    return buffer.getvalue()
