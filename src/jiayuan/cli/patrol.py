"""`jiayuan patrol …`: patrol plans and their rounds through the patrol service."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from jiayuan.cli.common import AS_HELP, console, operator, session_scope
from jiayuan.kernel.clock import local
from jiayuan.patrol import service

app = typer.Typer(help="视频巡查 Video patrol: plans and rounds.", no_args_is_help=True)


@app.command("plans")
def plans(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """The patrol plans within the operator's reach."""
    with session_scope() as session:
        found = service.list_plans(session, actor=operator(session, as_user))
    if as_json:
        typer.echo(json.dumps([p.model_dump(mode="json") for p in found], ensure_ascii=False))
        return
    table = Table("编号", "名称", "间隔（分钟）", "时段", "摄像机", "状态", title="巡查计划")
    for plan in found:
        window = "全天" if plan.window_start == plan.window_end else f"{plan.window_start}–{plan.window_end}"
        state = "已停用" if plan.retired_at else "进行中" if plan.active else "已暂停"
        table.add_row(str(plan.id), plan.name, str(plan.every_minutes), window, str(len(plan.cameras)), state)
    console.print(table)


@app.command("rounds")
def rounds(
    plan: int | None = typer.Option(None, "--plan", min=1, help="One plan only."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Each plan's rounds of the last day and the next hours: due, done or missed (漏巡)."""
    with session_scope() as session:
        found = service.slots(session, actor=operator(session, as_user), plan_id=plan)
    if as_json:
        typer.echo(json.dumps([s.model_dump(mode="json") for s in found], ensure_ascii=False))
        return
    table = Table("计划", "巡查时间（北京时间）", "状态", "巡查人", title="巡查轮次")
    for slot in found:
        table.add_row(
            str(slot.plan_id), f"{local(slot.slot):%m-%d %H:%M}", slot.state_label, slot.by_name or ""
        )
    console.print(table)
