"""`jiayuan residents export | import | template` on a real database."""

from __future__ import annotations

from pathlib import Path

from python_calamine import CalamineWorkbook
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiayuan.cli.main import app as cli
from tests.excel.conftest import Place, counts, row, workbook


def test_export_then_import_round_trip(
    cli_env: None, db: Session, place: Place, residents: list[int], tmp_path: Path
) -> None:
    target = tmp_path / "居民.xlsx"
    exported = CliRunner().invoke(cli, ["residents", "export", str(target), "--full", "--reason", "年度核对"])
    assert exported.exit_code == 0, exported.output
    assert target.stat().st_size > 0
    before = counts(db)
    imported = CliRunner().invoke(cli, ["residents", "import", str(target)])
    assert imported.exit_code == 0, imported.output
    assert "未变 5 人" in imported.stdout
    assert counts(db)["residents"] == before["residents"]


def test_bad_file_exits_non_zero_and_writes_the_error_workbook(
    cli_env: None, db: Session, place: Place, tmp_path: Path
) -> None:
    source = tmp_path / "bad.xlsx"
    source.write_bytes(
        workbook([row(小区="锦江花园", 楼栋="1号楼", 单元="1单元", 户号="101", 姓名="某", 身份证号="123")])
    )
    marked = tmp_path / "errors.xlsx"
    before = counts(db)
    result = CliRunner().invoke(cli, ["residents", "import", str(source), "--errors", str(marked)])
    assert result.exit_code == 1
    assert "第 2 行 [身份证号]" in result.stderr and "第 2 行 [与户主关系]" in result.stderr
    assert "未写入任何数据" in result.stderr
    assert counts(db) == before
    cells = CalamineWorkbook.from_path(str(marked)).get_sheet_by_name("居民").to_python()
    assert cells[0][-1] == "错误原因" and "身份证号" in cells[1][-1]


def test_template(cli_env: None, tmp_path: Path) -> None:
    target = tmp_path / "模板.xlsx"
    result = CliRunner().invoke(cli, ["residents", "template", str(target)])
    assert result.exit_code == 0, result.output
    sheet = CalamineWorkbook.from_path(str(target)).get_sheet_by_name("居民").to_python()
    assert sheet[0][:5] == ["小区", "楼栋", "单元", "户号", "姓名"]


def test_check_lists_the_changes_and_writes_nothing_then_import_writes_them(
    cli_env: None, db: Session, place: Place, residents: list[int], tmp_path: Path
) -> None:
    target = tmp_path / "居民.xlsx"
    assert (
        CliRunner()
        .invoke(cli, ["residents", "export", str(target), "--full", "--reason", "年度核对"])
        .exit_code
        == 0
    )
    rows = [list(r) for r in CalamineWorkbook.from_path(str(target)).get_sheet_by_name("居民").to_python()]
    header, data = rows[0], rows[1:]
    data[0][header.index("手机号")] = "13900001111"
    source = tmp_path / "改.xlsx"
    source.write_bytes(workbook(data, headers=header))
    before = counts(db)
    checked = CliRunner().invoke(cli, ["residents", "import", str(source), "--check"])
    assert checked.exit_code == 0, checked.output
    assert "138****5678 → 139****1111" in checked.stdout and "检查通过，未写入" in checked.stdout
    assert counts(db) == before | {"audit_log": before["audit_log"] + 1}  # the check's own audit row
    imported = CliRunner().invoke(cli, ["residents", "import", str(source)])
    assert imported.exit_code == 0 and "更新 1 人" in imported.stdout and "139****1111" in imported.stdout
