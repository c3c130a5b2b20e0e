"""Resident workbooks: the column layout, reading any cell as text, writing exports, templates, error files.

Reading goes through python-calamine (fast, typed cells); writing through XlsxWriter. Every cell is
read back as text because Excel turns long digit strings into floats: an 18-digit ID number stored as
a number has already lost its last digits, and that is reported rather than guessed.
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import xlsxwriter
from python_calamine import CalamineWorkbook

from jiayuan.kernel.errors import Invalid, RowError
from jiayuan.kernel.i18n import N_, Names, Text
from jiayuan.registry.schemas import Gender, Relation, ResidenceType, Tag

SHEET = "居民"
INSTRUCTIONS_SHEET = "填写说明"
ERROR_COLUMN = "错误原因"
COLUMNS: tuple[str, ...] = (
    "小区", "楼栋", "单元", "户号", "姓名", "性别", "出生日期", "身份证号", "手机号",
    "与户主关系", "居住类型", "标签", "入住日期", "迁出日期", "备注",
)  # fmt: skip
REQUIRED: frozenset[str] = frozenset({"小区", "楼栋", "单元", "户号", "姓名", "身份证号", "与户主关系"})
# An empty cell changes nothing on a stored resident; this marker clears one of these columns.
CLEAR = "清空"
CLEARABLE: tuple[str, ...] = ("手机号", "标签", "入住日期", "迁出日期", "备注")
# A community has a few thousand residents; a district export is still far below this.
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000

_HELP: dict[str, str] = {
    "小区": "必填。系统中已有的小区名称，如“锦江花园”",
    "楼栋": "必填。如“3号楼”；写作“３号楼”“三号楼”“3栋”“3幢”也能对上系统中的“3号楼”",
    "单元": "必填。如“2单元”；写作“二单元”“2单”也可",
    "户号": "必填。房号，如“301”；该单元下没有此户时自动新建",
    "姓名": "必填。2–32 个字，不含数字",
    "性别": "男或女；可不填，按身份证号判断；填写时须与身份证号一致",
    "出生日期": "如 1990-03-07；可不填，按身份证号判断；填写时须与身份证号一致",
    "身份证号": "必填。18 位，末位可为 X；请将该列设为“文本”，否则 Excel 会丢失末几位",
    "手机号": "11 位手机号（可带空格或短横线）或带区号的固话，可不填；填“清空”删除已登记的号码",
    "与户主关系": "必填。" + "、".join(r.value for r in Relation),
    "居住类型": "、".join(r.value for r in ResidenceType) + "；不填为户籍",
    "标签": "可多个，用顿号或逗号分隔：" + "、".join(t.value for t in Tag) + "；填“清空”删除全部标签",
    "入住日期": "如 2015-06-01，可不填；填“清空”删除",
    "迁出日期": "如 2024-01-31，可不填；不得早于入住日期；填“清空”删除",
    "备注": "最多 255 个字；填“清空”删除",
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


@dataclass(frozen=True, slots=True)
class SheetRow:
    """One data row as text; `number` is the row number Excel shows. The cells are kept in the order of
    the sheet's known columns (`columns`, shared by its rows), which holds 100,000 rows in little memory."""

    sheet: str
    number: int
    cells: tuple[str, ...]
    columns: Mapping[str, int]

    def get(self, column: str) -> str:
        """The cell's text ('' when empty or absent)."""
        index = self.columns.get(column)
        return self.cells[index] if index is not None else ""

    def has(self, column: str) -> bool:
        """Whether the sheet has this column at all (an absent column changes nothing)."""
        return column in self.columns

    @property
    def values(self) -> dict[str, str]:
        """The row as {column title: text}."""
        return {title: self.cells[index] for title, index in self.columns.items()}


@dataclass(frozen=True)
class Unread:
    """A column of a sheet that is not imported: an unknown title, or no title over filled cells."""

    sheet: str
    column: str  # the column letter, as Excel shows it
    title: str
    suggestion: str | None

    def message(self) -> Text:
        """What the report says about it."""
        where = Text(N_("工作表“{sheet}” {column} 列"), sheet=self.sheet, column=self.column)
        if not self.title:
            return Text(N_("{where}有数据但没有表头（可能是合并的表头单元格），该列不会导入"), where=where)
        if self.suggestion:
            return Text(
                N_("{where}的表头“{title}”无法识别，该列不会导入，是否应为“{suggestion}”？"),
                where=where,
                title=self.title,
                suggestion=self.suggestion,
            )
        return Text(
            N_("{where}的表头“{title}”无法识别，该列不会导入；可用的列见模板"), where=where, title=self.title
        )


@dataclass(frozen=True)
class Sheet:
    """The rows of one worksheet, the titles it used and the cells as they were written."""

    name: str
    headers: list[str]
    rows: list[SheetRow]
    raw: list[list[str]]  # every row under the header as written, kept only for the error workbook
    header_row: int


@dataclass(frozen=True)
class Workbook:
    """Every worksheet holding residents, the columns not imported and the sheets passed over."""

    sheets: list[Sheet]
    unread: list[Unread]
    skipped: list[str]

    @property
    def rows(self) -> list[SheetRow]:
        """The data rows of every sheet, in order."""
        return [row for sheet in self.sheets for row in sheet.rows]


# Titles offices use for a column, mapped to the template's; used only to suggest, never to guess.
_KNOWN_ALIASES = {
    "联系电话": "手机号", "电话": "手机号", "手机": "手机号", "电话号码": "手机号", "联系方式": "手机号",
    "身份证": "身份证号", "身份证号码": "身份证号", "证件号码": "身份证号", "公民身份号码": "身份证号",
    "房号": "户号", "门牌号": "户号", "室号": "户号", "楼号": "楼栋", "楼栋号": "楼栋", "单元号": "单元",
    "小区名称": "小区", "住址小区": "小区", "关系": "与户主关系", "与户主的关系": "与户主关系",
    "人员类型": "居住类型", "居住性质": "居住类型", "人员标签": "标签", "迁入日期": "入住日期",
}  # fmt: skip


def suggest(title: str) -> str | None:
    """The template column a misnamed title most likely means, if any."""
    if title in _KNOWN_ALIASES:
        return _KNOWN_ALIASES[title]
    close = difflib.get_close_matches(title, COLUMNS, n=1, cutoff=0.5)
    return close[0] if close else None


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


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


def read_workbook(content: bytes, *, keep_cells: bool = False) -> Workbook:
    """Parse an uploaded workbook: every sheet with the resident header (姓名 and 身份证号 in one of its
    first 20 rows). Invalid (field `file`) when it is unreadable, has no such sheet or no data rows.
    Rows are read one at a time; `keep_cells` also keeps every cell as written (for the error workbook).
    """
    if not content:
        raise Invalid("文件为空，请上传 .xlsx 格式的居民信息表", field="file")
    if len(content) > MAX_BYTES:
        raise Invalid("文件过大（超过 {mb} MB），请分批导入", field="file", mb=MAX_BYTES // (1024 * 1024))
    if not content.startswith(b"PK"):
        raise Invalid("无法读取文件：请上传 .xlsx 格式的 Excel 文件（可先下载模板）", field="file")
    sheets: list[Sheet] = []
    unread: list[Unread] = []
    skipped: list[str] = []
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        names = list(book.sheet_names)
        for name in names:
            worksheet = book.get_sheet_by_name(name)
            read = _read_sheet(name, worksheet, keep_cells)
            if read is None:
                skipped.append(name)
                continue
            sheets.append(read[0])
            unread.extend(read[1])
    except Invalid:
        raise
    except Exception as exc:  # calamine raises several error types for damaged files
        raise Invalid("无法读取文件：文件已损坏或不是 .xlsx 格式的 Excel 文件", field="file") from exc
    if not sheets:
        listed = Names(f"“{n}”" for n in names)
        raise Invalid(
            "找不到居民表头：工作表 {sheets} 中都没有“姓名、身份证号……”这一行（可先下载模板）",
            field="file",
            sheets=listed,
        )
    workbook = Workbook(sheets=sheets, unread=unread, skipped=skipped)
    if sum(len(sheet.rows) for sheet in sheets) > MAX_ROWS:
        raise Invalid("行数过多（超过 {limit:,} 行），请分批导入", field="file", limit=MAX_ROWS)
    if not any(sheet.rows for sheet in sheets):
        raise Invalid("没有可导入的数据：表头下面没有填写任何居民", field="file")
    return workbook


Range = tuple[tuple[int, int], tuple[int, int]]
_REPEATED = frozenset({"小区", "楼栋", "单元", "性别", "与户主关系", "居住类型", "标签"})


class _Merges:
    """Vertical merges in the data area fill every cell they span with their top cell's value (a
    household's 小区, 楼栋, 单元 and 户号 merged over its members' rows); a merge across columns there is
    refused."""

    def __init__(self, sheet: str, merged: Sequence[Range], header_index: int) -> None:
        self._starting: dict[int, list[tuple[int, int]]] = {}
        self._active: dict[int, tuple[object, int]] = {}
        for (top, left), (bottom, right) in merged:
            if bottom <= header_index:
                continue
            if right != left:
                row, span = max(top, header_index + 1) + 1, f"{column_letter(left)}–{column_letter(right)}"
                raise Invalid(
                    "工作表“{sheet}”第 {row} 行 {span} 列是横向合并的单元格，无法判断属于哪一列；"
                    "请取消合并后重新导入",
                    field="file",
                    sheet=sheet,
                    row=row,
                    span=span,
                )
            self._starting.setdefault(top, []).append((left, bottom))

    def fill(self, index: int, cells: list[Any]) -> None:
        """Fill row `index` (absolute, from 0) in place."""
        for column, bottom in self._starting.get(index, ()):
            self._active[column] = (cells[column] if column < len(cells) else None, bottom)
        for column, (value, bottom) in list(self._active.items()):
            if index > bottom:
                del self._active[column]
            elif column < len(cells) and not cell_text(cells[column]):
                cells[column] = value


def _read_sheet(name: str, worksheet: Any, keep_cells: bool) -> tuple[Sheet, list[Unread]] | None:
    """One worksheet, or None when it has no resident header in its first 20 rows."""
    offset = worksheet.start[1] if worksheet.start else 0  # iter_rows starts at the first used column
    rows = iter(worksheet.iter_rows())
    head: list[list[Any]] = []
    for cells in rows:
        head.append([None] * offset + list(cells))
        if len(head) == 20:
            break
    header_index = next(
        (i for i, row in enumerate(head) if {"姓名", "身份证号"} <= {cell_text(c) for c in row}), None
    )
    if header_index is None:
        return None
    headers = [cell_text(c) for c in head[header_index]]
    missing = [c for c in COLUMNS if c in REQUIRED and c not in headers]
    if missing:
        raise Invalid(
            "工作表“{sheet}”的表头缺少必填列：{columns}", field="file", sheet=name, columns=Names(missing)
        )
    merges = _Merges(name, worksheet.merged_cell_ranges or [], header_index)
    known = [(i, title) for i, title in enumerate(headers) if title in COLUMNS]
    columns = {title: position for position, (_, title) in enumerate(known)}
    texts_of: dict[str, str] = {}  # one object per text of the columns that repeat a few values
    data: list[SheetRow] = []
    raw: list[list[str]] = []
    filled_columns: set[int] = set()

    def take(index: int, cells: list[Any]) -> None:
        merges.fill(index, cells)
        if keep_cells:
            titles = [headers[i] if i < len(headers) else "" for i in range(len(cells))]
            raw.append([cell_text(c, column=title) for c, title in zip(cells, titles, strict=True)])
        texts = [cell_text(cells[i], column=title) if i < len(cells) else "" for i, title in known]
        values = tuple(
            texts_of.setdefault(text, text) if title in _REPEATED else text
            for text, (_, title) in zip(texts, known, strict=True)
        )
        if any(values):
            data.append(SheetRow(name, index + 1, values, columns))
            filled_columns.update(i for i, c in enumerate(cells) if i not in columns_at and cell_text(c))
            if len(data) > MAX_ROWS:
                raise Invalid("行数过多（超过 {limit:,} 行），请分批导入", field="file", limit=MAX_ROWS)

    columns_at = {i for i, _ in known}
    for index, cells in enumerate(head[header_index + 1 :], start=header_index + 1):
        take(index, cells)
    for index, cells in enumerate(rows, start=len(head)):
        take(index, [None] * offset + list(cells))
    unread = [
        Unread(name, column_letter(i), headers[i] if i < len(headers) else "",
               suggest(headers[i]) if i < len(headers) and headers[i] else None)
        for i in sorted(filled_columns | {i for i, t in enumerate(headers) if t and i not in columns_at})
        if not (i < len(headers) and headers[i] == ERROR_COLUMN)
    ]  # fmt: skip
    return Sheet(name=name, headers=headers, rows=data, raw=raw, header_row=header_index + 1), unread


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
        "同一身份证号再次导入会更新原记录，不会重复登记。更新时只改表中填写了的列："
        "没有的列、认不出的列和空白单元格都保持原值；要删除手机号、标签、日期或备注，请在该格填“清空”。"
        "可以有多个工作表（如每栋楼一张），凡有表头的工作表都会导入；同一户的小区、楼栋、单元、户号"
        "可以纵向合并单元格。导入前可先“检查”，查看每一行将新增或改动哪些内容。",
        wrap,
    )
    workbook.close()
    return buffer.getvalue()


def with_errors(workbook: Workbook, errors: Sequence[RowError]) -> bytes:
    """The uploaded sheets written back with a 错误原因 column beside their rows (failing rows marked)."""
    reasons: dict[tuple[str, int], list[str]] = {}
    for error in errors:
        reasons.setdefault((error.sheet or "", error.row), []).append(f"{error.column}：{error.reason}")
    buffer = io.BytesIO()
    book = _workbook(buffer)
    marked = book.add_format({"bg_color": "#FDE2E1"})
    reason_format = book.add_format({"bg_color": "#FDE2E1", "font_color": "#B00020", "text_wrap": True})
    for sheet in workbook.sheets:
        keep = [i for i, title in enumerate(sheet.headers) if title != ERROR_COLUMN]
        titles = [sheet.headers[i] for i in keep]
        worksheet = book.add_worksheet(sheet.name)
        _header(book, worksheet, [*titles, ERROR_COLUMN])
        worksheet.set_column(len(titles), len(titles), 50)
        for index, texts in enumerate(sheet.raw):
            found = reasons.get((sheet.name, sheet.header_row + 1 + index))
            for column, source in enumerate(keep):
                value = texts[source] if source < len(texts) else ""
                worksheet.write_string(index + 1, column, value, marked if found else None)
            if found:
                worksheet.write_string(index + 1, len(titles), "；".join(found), reason_format)
    book.close()
    return buffer.getvalue()
