"""An import never erases what it was not given, says what it will change before writing, and reads the
workbooks offices really have: several sheets, renamed or merged headers, merged household cells, building
names written several ways. Each class is tried on variants generated from a real export."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest
import xlsxwriter
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import AuditEntry
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.errors import Invalid, RowErrors
from jiayuan.registry import excel
from jiayuan.registry.excel import COLUMNS, REQUIRED
from jiayuan.registry.models import Building
from jiayuan.registry.schemas import ImportReport
from jiayuan.registry.service import importing
from tests.excel.conftest import Place, counts

OPTIONAL = [c for c in COLUMNS if c not in REQUIRED]


@dataclass
class Sheet:
    """A worksheet to write: a header, rows of text, and merged ranges (first row, col, last row, col)."""

    name: str
    headers: list[str]
    rows: list[list[str]]
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)


def xlsx(sheets: Sequence[Sheet]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    for sheet in sheets:
        page = book.add_worksheet(sheet.name)
        grid = [sheet.headers, *sheet.rows]
        merged = {
            (r, c) for r0, c0, r1, c1 in sheet.merges for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)
        }
        for r, values in enumerate(grid):
            for c, value in enumerate(values):
                if value and (r, c) not in merged:
                    page.write_string(r, c, value)
        for r0, c0, r1, c1 in sheet.merges:
            page.merge_range(r0, c0, r1, c1, grid[r0][c0])
    book.close()
    return buffer.getvalue()


def exported(db: Session, place: Place, vault: PiiVault) -> list[dict[str, str]]:
    """What the registry holds, as the office's full export."""
    content = importing.export_residents(db, actor=place.staff(), vault=vault, full=True, reason="年度核对")
    return [dict(r.values) for r in excel.read_workbook(content).rows]


def table(rows: list[dict[str, str]], headers: Sequence[str]) -> list[list[str]]:
    return [[r.get(h, "") for h in headers] for r in rows]


def one_sheet(rows: list[dict[str, str]]) -> bytes:
    """The rows as the template's single 居民 sheet."""
    return xlsx([Sheet("居民", list(COLUMNS), table(rows, COLUMNS))])


def plan_rows(db: Session, place: Place, vault: PiiVault, rows: list[dict[str, str]]) -> ImportReport:
    return importing.plan_import(db, actor=place.staff(), vault=vault, content=one_sheet(rows))


def import_rows(db: Session, place: Place, vault: PiiVault, rows: list[dict[str, str]]) -> None:
    importing.import_residents(db, actor=place.staff(), vault=vault, content=one_sheet(rows))
    db.commit()


def only_required(rows: list[dict[str, str]]) -> Sheet:
    headers = [c for c in COLUMNS if c in REQUIRED]
    return Sheet("居民", headers, table(rows, headers))


def renamed(title: str, to: str) -> Callable[[list[dict[str, str]]], Sheet]:
    def make(rows: list[dict[str, str]]) -> Sheet:
        headers = [to if c == title else c for c in COLUMNS]
        return Sheet(
            "居民",
            headers,
            table([{(to if k == title else k): v for k, v in r.items()} for r in rows], headers),
        )

    return make


def blank_optional_cells(rows: list[dict[str, str]]) -> Sheet:
    return Sheet(
        "居民", list(COLUMNS), table([{k: v for k, v in r.items() if k in REQUIRED} for r in rows], COLUMNS)
    )


def header_merged_over(column: str) -> Callable[[list[dict[str, str]]], Sheet]:
    """The header cell left of `column` merged across it, as a hand-made sheet often has."""

    def make(rows: list[dict[str, str]]) -> Sheet:
        index = COLUMNS.index(column)
        return Sheet("居民", list(COLUMNS), table(rows, COLUMNS), merges=[(0, index - 1, 0, index)])

    return make


VARIANTS = {
    "only the required columns": only_required,
    "手机号 renamed 联系电话": renamed("手机号", "联系电话"),
    "标签 renamed 人员标签": renamed("标签", "人员标签"),
    "入住日期 renamed 迁入时间": renamed("入住日期", "迁入时间"),
    "optional cells left blank": blank_optional_cells,
    "header merged over 手机号": header_merged_over("手机号"),
    "header merged over 居住类型": header_merged_over("居住类型"),
    "header merged over 备注": header_merged_over("备注"),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_file_missing_columns_or_values_changes_nothing(
    db: Session, place: Place, residents: list[int], vault: PiiVault, variant: str
) -> None:
    before = exported(db, place, vault)
    content = xlsx([VARIANTS[variant](before)])
    plan = importing.plan_import(db, actor=place.staff(), vault=vault, content=content)
    assert (plan.written, plan.unchanged, plan.updated, plan.created) == (False, len(before), 0, 0)
    report = importing.import_residents(db, actor=place.staff(), vault=vault, content=content)
    db.commit()
    assert report.unchanged == len(before) and report.plans == []
    assert exported(db, place, vault) == before


@pytest.mark.parametrize(
    ("variant", "named"),
    [
        ("手机号 renamed 联系电话", "“联系电话”无法识别，该列不会导入，是否应为“手机号”"),
        ("标签 renamed 人员标签", "“人员标签”无法识别，该列不会导入，是否应为“标签”"),
        ("header merged over 手机号", "有数据但没有表头（可能是合并的表头单元格）"),
    ],
)
def test_a_column_not_read_is_named_with_the_likely_header(
    db: Session, place: Place, residents: list[int], vault: PiiVault, variant: str, named: str
) -> None:
    content = xlsx([VARIANTS[variant](exported(db, place, vault))])
    plan = importing.plan_import(db, actor=place.staff(), vault=vault, content=content)
    assert any(named in notice for notice in plan.notices), plan.notices


def test_the_check_lists_each_change_old_to_new_and_writes_nothing(
    db: Session, place: Place, residents: list[int], vault: PiiVault
) -> None:
    rows = exported(db, place, vault)
    rows[0] |= {"手机号": "139-0000-1111", "备注": "清空", "标签": "党员、退役军人"}
    rows[3] |= {"居住类型": "租住"}
    content = one_sheet(rows)
    before = counts(db)
    plan = importing.plan_import(db, actor=place.staff(), vault=vault, content=content)
    after_check = counts(db)
    # Nothing written but the audit row of the check itself (which people and values it asked about).
    assert after_check == before | {"audit_log": before["audit_log"] + 1}
    checked = db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert checked is not None and checked.action == "resident.import_check"
    assert checked.detail == {"created": 0, "updated": 2, "unchanged": 3, "households_created": 0}
    changes = {(p.row, p.name): [(c.column, c.old, c.new) for c in p.changes] for p in plan.plans}
    assert changes == {
        (2, "刘莹"): [
            ("手机号", "138****5678", "139****1111"),
            ("标签", "党员", "退役军人、党员"),
            ("备注", "楼长", "（空）"),
        ],
        (5, "张秀英"): [("居住类型", "户籍", "租住")],
    }
    importing.import_residents(db, actor=place.staff(), vault=vault, content=content)
    db.commit()
    after = exported(db, place, vault)
    assert after[0]["手机号"] == "13900001111" and after[0]["备注"] == "" and after[3]["居住类型"] == "租住"
    assert after[1:3] == rows[1:3]


@pytest.mark.parametrize("column", excel.CLEARABLE)
def test_the_clear_marker_empties_exactly_its_column(
    db: Session, place: Place, residents: list[int], vault: PiiVault, column: str
) -> None:
    rows = exported(db, place, vault)
    target = next(i for i, r in enumerate(rows) if r[column])
    rows[target][column] = excel.CLEAR
    import_rows(db, place, vault, rows)
    after = exported(db, place, vault)
    assert after[target][column] == ""
    rows[target][column] = ""
    assert after == rows


@pytest.mark.parametrize("column", ["姓名", "与户主关系", "居住类型", "性别"])
def test_the_clear_marker_is_refused_where_a_value_is_required(
    db: Session, place: Place, residents: list[int], vault: PiiVault, column: str
) -> None:
    rows = exported(db, place, vault)
    rows[0][column] = excel.CLEAR
    with pytest.raises(RowErrors) as refused:
        plan_rows(db, place, vault, rows)
    assert [(e.row, e.column) for e in refused.value.errors if "清空" in e.reason] == [(2, column)]


def test_every_sheet_with_the_header_is_imported_and_the_others_named(
    db: Session, place: Place, residents: list[int], vault: PiiVault
) -> None:
    rows = exported(db, place, vault)
    for r in rows:
        r["手机号"] = "13700000000"
    sheets = [
        Sheet("1号楼", list(COLUMNS), table(rows[:3], COLUMNS)),
        Sheet("说明", ["填表人", "日期"], [["王", "2026-01-01"]]),
        Sheet("2号楼", list(COLUMNS), table(rows[3:], COLUMNS)),
    ]
    report = importing.import_residents(db, actor=place.staff(), vault=vault, content=xlsx(sheets))
    db.commit()
    assert report.updated == len(rows) and {p.sheet for p in report.plans} == {"1号楼", "2号楼"}
    assert any("“说明”" in n for n in report.notices)
    assert {r["手机号"] for r in exported(db, place, vault)} == {"13700000000"}


def test_a_workbook_without_the_header_names_its_sheets(db: Session, place: Place, vault: PiiVault) -> None:
    content = xlsx([Sheet("花名册", ["名字", "证件"], [["刘莹", "x"]]), Sheet("Sheet2", ["a"], [["b"]])])
    with pytest.raises(Invalid, match="“花名册”、“Sheet2”") as refused:
        importing.plan_import(db, actor=place.staff(), vault=vault, content=content)
    assert refused.value.field == "file"


def test_an_error_names_its_sheet_and_a_person_twice_across_sheets_is_caught(
    db: Session, place: Place, residents: list[int], vault: PiiVault
) -> None:
    rows = exported(db, place, vault)
    sheets = [
        Sheet("甲", list(COLUMNS), table(rows[:2], COLUMNS)),
        Sheet("乙", list(COLUMNS), table(rows[1:2], COLUMNS)),
    ]
    with pytest.raises(RowErrors) as refused:
        importing.plan_import(db, actor=place.staff(), vault=vault, content=xlsx(sheets))
    [error] = refused.value.errors
    assert (error.sheet, error.row, error.column) == (
        "乙",
        2,
        "身份证号",
    ) and "工作表“甲”第 3 行" in error.reason


def test_merged_household_cells_apply_to_every_row_they_span(
    db: Session, place: Place, residents: list[int], vault: PiiVault
) -> None:
    rows = exported(db, place, vault)[:3]  # the family of 101, as a 户籍表 lists it
    for r in rows:
        r["备注"] = "核对"
    grid = table(rows, COLUMNS)
    for r in grid[1:]:
        for column in ("小区", "楼栋", "单元", "户号"):
            r[COLUMNS.index(column)] = ""
    merges = [(1, COLUMNS.index(c), 3, COLUMNS.index(c)) for c in ("小区", "楼栋", "单元", "户号")]
    report = importing.import_residents(
        db, actor=place.staff(), vault=vault, content=xlsx([Sheet("居民", list(COLUMNS), grid, merges)])
    )
    assert report.updated == 3 and report.households_created == 0


def test_a_merge_across_columns_in_the_data_is_refused_by_name(
    db: Session, place: Place, residents: list[int], vault: PiiVault
) -> None:
    grid = table(exported(db, place, vault), COLUMNS)
    merges = [(2, COLUMNS.index("备注") - 1, 2, COLUMNS.index("备注"))]
    with pytest.raises(Invalid, match="第 3 行 N–O 列是横向合并的单元格"):
        importing.plan_import(
            db, actor=place.staff(), vault=vault, content=xlsx([Sheet("居民", list(COLUMNS), grid, merges)])
        )


@pytest.mark.parametrize("building", ["1号楼", "１号楼", "一号楼", "1栋", "1幢", "1 号楼"])
@pytest.mark.parametrize("unit", ["1单元", "一单元", "１单元", "1单"])
def test_building_and_unit_names_written_the_usual_ways_match(
    db: Session, place: Place, residents: list[int], vault: PiiVault, building: str, unit: str
) -> None:
    rows = exported(db, place, vault)[:1]
    rows[0] |= {"楼栋": building, "单元": unit}
    plan = plan_rows(db, place, vault, rows)
    assert plan.unchanged == 1


def test_an_unknown_building_lists_the_valid_names(
    db: Session, place: Place, residents: list[int], vault: PiiVault
) -> None:
    db.add(Building(compound_id=place.jinjiang_id, name="3号楼"))
    db.commit()
    rows = exported(db, place, vault)[:1]
    rows[0] |= {"楼栋": "九号楼"}
    with pytest.raises(RowErrors) as refused:
        plan_rows(db, place, vault, rows)
    [error] = refused.value.errors
    assert error.column == "楼栋" and error.reason.endswith("可填：1号楼、3号楼")


def test_a_header_only_file_has_nothing_to_import(db: Session, place: Place, vault: PiiVault) -> None:
    for sheets in ([Sheet("居民", list(COLUMNS), [])], [Sheet("居民", list(COLUMNS), [[""] * len(COLUMNS)])]):
        with pytest.raises(Invalid, match="没有可导入的数据"):
            importing.import_residents(db, actor=place.staff(), vault=vault, content=xlsx(sheets))


def test_every_error_of_a_row_is_reported(
    db: Session, place: Place, residents: list[int], vault: PiiVault
) -> None:
    rows = exported(db, place, vault)[:1]
    rows[0] |= {"性别": "未知", "手机号": "12345", "入住日期": "昨天", "标签": "神仙", "与户主关系": "朋友"}
    with pytest.raises(RowErrors) as refused:
        plan_rows(db, place, vault, rows)
    assert {e.column for e in refused.value.errors} == {"性别", "手机号", "入住日期", "标签", "与户主关系"}


@pytest.mark.parametrize("typed", ["138-1234-5678", "138 1234 5678", "1381234-5678", "+86 138-1234-5678"])
def test_a_mobile_written_in_groups_is_accepted_and_stored_plain(
    db: Session, place: Place, residents: list[int], vault: PiiVault, typed: str
) -> None:
    rows = exported(db, place, vault)
    rows[1]["手机号"] = typed
    import_rows(db, place, vault, rows)
    assert exported(db, place, vault)[1]["手机号"] == "13812345678"
