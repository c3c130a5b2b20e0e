"""`jiayuan residents …`: find residents (and import/export them) through the registry services."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from jiayuan.cli.common import AS_HELP, console, err_console, operator, session_scope, settings, vault
from jiayuan.cli.progress import stage_bar
from jiayuan.kernel.errors import RowErrors
from jiayuan.kernel.paging import PageParams
from jiayuan.registry.schemas import ImportReport
from jiayuan.registry.service import importing, resident_search

app = typer.Typer(help="居民 Residents: search, import and export.", no_args_is_help=True)


@app.command()
def find(
    query: str = typer.Argument(..., help="姓名、拼音、首字母、手机号/身份证号后 4 位或车牌"),
    as_json: bool = typer.Option(False, "--json", help="Print the page as JSON."),
    page: int = typer.Option(1, "--page", min=1, max=100_000, help="Page number (from 1)."),
    size: int = typer.Option(20, "--size", min=1, max=200, help="Residents per page."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
    reason: str | None = typer.Option(None, "--reason", help="按完整号码查找时的理由（记入审计日志）."),
) -> None:
    """Search residents as the API and the console do; ID numbers and phones stay masked.

    A full ID number or phone is a reveal: it needs --reason and is audited.
    """
    with session_scope() as session:
        actor = operator(session, as_user)
        found = resident_search.search_residents(
            session,
            actor=actor,
            vault=vault(),
            q=query,
            page=PageParams(page=page, size=size),
            reason=reason,
            full_number_limit=settings().full_number_searches_per_hour,
        )
    if as_json:
        typer.echo(json.dumps(found.model_dump(mode="json"), ensure_ascii=False))
        return
    more = "" if found.total_exact else "+"
    table = Table(title=f"“{query}” 共 {found.total}{more} 人，第 {found.page} 页")
    for column in ("编号", "姓名", "性别", "年龄", "身份证号", "手机号", "住址", "标签"):
        table.add_column(column)
    for item in found.items:
        table.add_row(
            str(item.id),
            item.name + (" (已迁出)" if item.moved_out else ""),
            item.gender,
            f"今年满 {item.age}" if item.age_this_year else str(item.age),
            item.id_number_masked,
            item.phone_masked or "",
            item.address.label,
            " ".join(item.tags),
        )
    console.print(table)


@app.command("export")
def export_(
    path: Path = typer.Argument(..., help="The .xlsx file to write.", dir_okay=False),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
    full: bool = typer.Option(False, "--full", help="完整身份证号和手机号（须 --reason；默认打码）."),
    reason: str | None = typer.Option(None, "--reason", help="Why the export is needed (audited)."),
) -> None:
    """Write the residents in scope to Excel, numbers masked unless --full (with --reason); audited."""
    with session_scope() as session:
        content = importing.export_residents(
            session, actor=operator(session, as_user), vault=vault(), full=full, reason=reason
        )
    path.write_bytes(content)
    console.print(f"已导出到 {path}")


@app.command("template")
def template(path: Path = typer.Argument(..., help="The .xlsx file to write.", dir_okay=False)) -> None:
    """Write the blank import template (header, dropdowns and an instructions sheet)."""
    path.write_bytes(importing.template_workbook())
    console.print(f"模板已保存到 {path}")


@app.command("import")
def import_(
    path: Path = typer.Argument(..., help="The .xlsx file to read.", exists=True, dir_okay=False),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
    check: bool = typer.Option(
        False, "--check", help="Only check and list what each row would add or change."
    ),
    errors_path: Path | None = typer.Option(
        None, "--errors", help="On failure, write the rows with a 错误原因 column here.", dir_okay=False
    ),
) -> None:
    """Check every row, then add or update residents; if any row is bad nothing is written.

    Columns the file lacks, unknown columns and empty cells change nothing; 清空 clears a phone, tags,
    dates or a note. Every changed column is listed (old → new, phones masked)."""
    content = path.read_bytes()
    run = importing.plan_import if check else importing.import_residents
    try:
        with session_scope() as session, stage_bar() as bar:
            report = run(
                session, actor=operator(session, as_user), vault=vault(), content=content, progress=bar
            )
    except typer.Exit as stop:
        failure = stop.__cause__
        if errors_path is not None and isinstance(failure, RowErrors):
            errors_path.write_bytes(importing.error_workbook(content, failure.errors))
            err_console.print(f"已将带“错误原因”列的文件写入 {errors_path}，修改后可重新导入")
        raise
    _print_report(report)


def _print_report(report: ImportReport) -> None:
    for notice in report.notices:
        err_console.print(f"[yellow]注意[/]：{notice}")
    updates = [p for p in report.plans if p.action == "更新"]
    if updates:
        table = Table(
            "工作表",
            "行号",
            "姓名",
            "改动（原值 → 新值）",
            title="将改动的居民" if not report.written else "已改动的居民",
        )
        for plan in updates:
            changes = "；".join(f"{c.column}：{c.old} → {c.new}" for c in plan.changes)
            table.add_row(plan.sheet, str(plan.row), plan.name, changes)
        console.print(table)
    additions = [p.name for p in report.plans if p.action == "新增"]
    if additions:
        shown = "、".join(additions[:20]) + (f" 等 {report.created} 人" if report.created > 20 else "")
        console.print(f"{'新增' if report.written else '将新增'}：{shown}")
    counts = (
        f"共 {report.rows} 行，新增 {report.created} 人，更新 {report.updated} 人，"
        f"未变 {report.unchanged} 人，新建 {report.households_created} 户"
    )
    console.print(f"导入完成：{counts}" if report.written else f"检查通过，未写入：{counts}")
