"""The weekly report as PDF (Chinese text set, read back from the file) and as Excel (cells read back),
from the console's download links and from `jiayuan cases report`."""

from __future__ import annotations

import io
from pathlib import Path

from fastapi.testclient import TestClient
from pypdf import PdfReader
from python_calamine import CalamineWorkbook
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.cli.main import app as cli
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.principal import Principal
from tests.accounts.helpers import login
from tests.cases.test_stats import people, seed_week, tree  # noqa: F401 (fixtures)
from tests.factories import Tree, token_for


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def sheets(data: bytes) -> dict[str, list[list[object]]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def test_the_weekly_report_from_the_console(
    client: TestClient,
    sessions: sessionmaker[Session],
    db: Session,
    tree: Tree,  # noqa: F811
    people: dict[str, Principal],  # noqa: F811
    tmp_path: Path,
) -> None:
    seed_week(db, tree, people, SnapshotFiles(tmp_path))
    assert login(client, "zhoumin").status_code == 303
    pdf = client.get("/console/cases/report", params={"week": "2026-W49", "format": "pdf"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''" in pdf.headers["content-disposition"]
    text = pdf_text(pdf.content)
    for words in ("事件统计周报", "2026 年第 49 周", "概况", "上报事件", "超时未办", "受理用时中位数（分钟）",
                  "按网格", "第一网格", "按处置人", "wangwei", "按类别", "设施报修", "漏巡"):  # fmt: skip
        assert words in text, words
    lines = text.splitlines()
    assert "上报事件 4" in lines and "曾升级 1" in lines, lines

    xlsx = client.get("/console/cases/report", params={"week": "2026-W49", "format": "xlsx"})
    assert xlsx.status_code == 200
    book = sheets(xlsx.content)
    assert list(book) == ["概况", "按网格", "按处置人", "按类别"]
    summary = {row[0]: row[1] for row in book["概况"][1:]}
    assert (summary["统计周期"], summary["上报事件"], summary["已结案"], summary["超时未办"]) == (
        "2026 年第 49 周", 4, 1, 2,
    )  # fmt: skip
    assert summary["受理用时中位数（分钟）"] == 20.0 and summary["受理用时 P90（分钟）"] == 40.0
    assert summary["已巡"] == 1
    assert book["按网格"][0] == ["名称", "上报", "未结案", "已结案", "超时未办"]
    assert book["按网格"][1] == ["第一网格", 3, 2, 1, 2]

    token = token_for(sessions, people["staff"].user_id or 0)
    api = client.get(
        "/api/v1/cases/report",
        params={"week": "2026-W49", "format": "xlsx"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 200 and sheets(api.content)["概况"][3] == ["上报事件", 4]
    for week in ("2026-W60", "2026-49"):
        bad = client.get("/console/cases/report", params={"week": week, "format": "pdf"})
        assert bad.status_code == 422 and "week" in bad.text, bad.text[:300]
    assert (
        client.get("/console/cases/report", params={"week": "2026-W49", "format": "doc"}).status_code == 422
    )


def test_the_weekly_report_from_the_cli(
    cli_env: None,
    db: Session,
    tree: Tree,  # noqa: F811
    people: dict[str, Principal],  # noqa: F811
    tmp_path: Path,
) -> None:
    seed_week(db, tree, people, SnapshotFiles(tmp_path))
    out = tmp_path / "周报.pdf"
    ran = CliRunner().invoke(
        cli,
        ["cases", "report", "--week", "2026-W49", "--format", "pdf", "--out", str(out), "--as", "zhoumin"],
    )
    assert ran.exit_code == 0, ran.output
    assert "事件统计周报" in pdf_text(out.read_bytes()) and "第一网格" in pdf_text(out.read_bytes())
    book = tmp_path / "周报.xlsx"
    ran = CliRunner().invoke(
        cli, ["cases", "report", "--week", "2026-W49", "--format", "xlsx", "--out", str(book)]
    )
    assert ran.exit_code == 0, ran.output
    assert sheets(book.read_bytes())["按类别"][1] == ["设施报修", 2, 1, 1, 1]
    wrong = CliRunner().invoke(
        cli, ["cases", "report", "--week", "2026-W60", "--out", str(tmp_path / "x.pdf")]
    )
    assert wrong.exit_code == 1 and "week" in wrong.output and "只有第 1–53 周" in wrong.output
    assert not (tmp_path / "x.pdf").exists()
    kind = CliRunner().invoke(cli, ["cases", "report", "--week", "2026-W49", "--format", "doc", "--out", "x"])
    assert kind.exit_code == 1 and "format" in kind.output
    nowhere = str(tmp_path / "no-such-dir" / "r.xlsx")
    lost = CliRunner().invoke(
        cli, ["cases", "report", "--week", "2026-W49", "--format", "xlsx", "--out", nowhere]
    )
    assert lost.exit_code == 1 and "--out" in lost.output and "无法写入" in lost.output
