"""`jiayuan cases …`: list and show cases through the cases service, as the operator who runs it."""

from __future__ import annotations

import typer
from rich.table import Table

from jiayuan.cases import service
from jiayuan.cases.schemas import CaseFilter, Category
from jiayuan.cases.states import CaseState
from jiayuan.cli.common import AS_HELP, console, operator, session_scope
from jiayuan.kernel.clock import local
from jiayuan.kernel.paging import MAX_PAGE, MAX_PAGE_SIZE, PageParams

app = typer.Typer(help="事件 Cases: list and show them.", no_args_is_help=True)


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
        found = service.list_cases(
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
        case = service.show_case(session, actor=operator(session, as_user), case_id=case_id)
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
