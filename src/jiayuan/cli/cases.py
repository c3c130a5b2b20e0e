"""`jiayuan cases …`: list and show cases through the cases service, as the operator who runs it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from jiayuan.cases.schemas import CaseFilter, Category
from jiayuan.cases.service import reads
from jiayuan.cases.service import stats as case_stats
from jiayuan.cases.states import CaseState
from jiayuan.cases.stats_book import COUNT_HEADINGS, summary_rows, workbook
from jiayuan.cli.common import AS_HELP, console, err_console, operator, session_scope
from jiayuan.kernel.clock import local
from jiayuan.kernel.paging import MAX_PAGE, MAX_PAGE_SIZE, PageParams
from jiayuan.web.case_reports import case_statistics, report_pdf

app = typer.Typer(
    help="事件 Cases: list and show them, statistics and the weekly report.", no_args_is_help=True
)


@app.command("list")
def list_(
    state: CaseState | None = typer.Option(None, "--state", help="Only cases in this state."),
    open_only: bool = typer.Option(False, "--open", help="Only cases not closed yet."),
    category: Category | None = typer.Option(None, "--category", help="Only cases of this category."),
    mine: bool = typer.Option(False, "--mine", help="Only cases dispatched to the --as account."),
    overdue: bool = typer.Option(False, "--overdue", help="Only cases past their time limit."),
    page: int = typer.Option(1, "--page", min=1, max=MAX_PAGE),
    size: int = typer.Option(20, "--size", min=1, max=MAX_PAGE_SIZE),
    as_json: bool = typer.Option(False, "--json", help="Print the page as JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Cases within the operator's reach, newest first."""
    with session_scope() as session:
        found = reads.list_cases(
            session,
            actor=operator(session, as_user),
            filters=CaseFilter(
                state=state, open_only=open_only, category=category, mine=mine, overdue=overdue
            ),
            params=PageParams(page=page, size=size),
        )
    if as_json:
        console.print_json(found.model_dump_json())
        return
    table = Table(
        "编号", "类别", "标题", "状态", "级别", "位置", "上报时间", title=f"事件（共 {found.total} 件）"
    )
    for case in found.items:
        table.add_row(str(case.id), case.category_label, case.title, case.state_label, str(case.level),
                      case.place, f"{local(case.reported_at):%Y-%m-%d %H:%M}")  # fmt: skip
    console.print(table)


@app.command()
def show(
    case_id: int = typer.Argument(..., min=1, max=2**31 - 1, help="Case id (事件编号)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """One case with its history and what can be done next."""
    with session_scope() as session:
        case = reads.show_case(session, actor=operator(session, as_user), case_id=case_id)
    if as_json:
        console.print_json(case.model_dump_json())
        return
    where = f"{case.category_label}，{case.state_label}，级别 {case.level}"
    console.print(f"[bold]#{case.id} {case.title}[/bold]（{where}）")
    console.print(f"位置：{case.place or '—'}")
    for step in case.steps:
        note = f"：{step.note}" if step.note else ""
        console.print(f"  {local(step.at):%m-%d %H:%M} {step.actor_name} → {step.to_state.label}{note}")
    console.print("可以：" + ("、".join(a.label for a in case.allowed) or "—"))


@app.command()
def stats(
    start: str = typer.Option(
        "", "--start", help="First day (Beijing), e.g. 2026-12-01; default 6 days before --end."
    ),
    end: str = typer.Option("", "--end", help="Last day, included; default today."),
    week: str = typer.Option("", "--week", help="An ISO week such as 2026-W49 instead of --start/--end."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Times to accept, arrive and close, overdue cases, counts per grid, worker, category; patrol rounds."""
    with session_scope() as session:
        within = case_stats.period(start=start, end=end, week=week)
        figures = case_statistics(session, actor=operator(session, as_user), within=within)
    if as_json:
        console.print_json(figures.model_dump_json())
        return
    table = Table("项目", "数值", title=f"事件统计 {figures.period_label}")
    for label, value in summary_rows(figures)[2:]:
        table.add_row(label, str(value))
    console.print(table)
    for title, rows in (
        ("按网格", figures.by_grid),
        ("按处置人", figures.by_worker),
        ("按类别", figures.by_category),
    ):
        counts = Table(*COUNT_HEADINGS, title=title)
        for row in rows:
            counts.add_row(row.label, str(row.total), str(row.open), str(row.closed), str(row.overdue))
        console.print(counts)


@app.command()
def report(
    week: str = typer.Option(..., "--week", help="The ISO week, e.g. 2026-W49."),
    kind: str = typer.Option("pdf", "--format", help="pdf or xlsx."),
    out: Path = typer.Option(..., "--out", help="The file to write.", dir_okay=False, writable=True),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Write the weekly report of a week as PDF or Excel."""
    if kind not in ("pdf", "xlsx"):
        err_console.print(f"[red]错误 (format): 格式只能是 pdf 或 xlsx，收到“{kind[:16]}”[/red]")
        raise typer.Exit(1)
    with session_scope() as session:
        figures = case_statistics(
            session, actor=operator(session, as_user), within=case_stats.week_period(week)
        )
    try:
        out.write_bytes(report_pdf(figures) if kind == "pdf" else workbook(figures))
    except OSError as exc:
        err_console.print(f"[red]错误 (--out): 无法写入 {out}：{exc.strerror}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"已写入 {out}（{figures.period_label}，事件 {figures.total} 件）")
