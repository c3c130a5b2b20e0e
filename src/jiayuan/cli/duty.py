"""`jiayuan duty …`: who is on duty now and the grids nobody covers, through the duty service."""

from __future__ import annotations

from datetime import date

import typer
from pydantic import TypeAdapter
from rich.table import Table

from jiayuan.cli.common import AS_HELP, console, operator, session_scope
from jiayuan.duty.schemas import GapOut
from jiayuan.duty.service import on_duty
from jiayuan.kernel.clock import local
from jiayuan.kernel.errors import Invalid

app = typer.Typer(help="值班 Duty: who is on duty now, gaps in the roster.", no_args_is_help=True)


@app.command()
def now(
    community_id: int | None = typer.Option(None, "--community", min=1, max=2**31 - 1, help="Community id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Who is on duty now at every grid, gate and community within reach."""
    with session_scope() as session:
        found = on_duty.on_duty_now(session, actor=operator(session, as_user), community_id=community_id)
    if as_json:
        console.print_json(found.model_dump_json())
        return
    table = Table("社区", "地点", "在岗", title=f"当前值班（{local(found.at):%Y-%m-%d %H:%M}）")
    for place in found.places:
        people = "、".join(
            f"{p.user_name}（{p.duty_role_label}，至 {local(p.ends_at):%H:%M}{_signed(p.signed_in)}）"
            for p in place.people
        )
        table.add_row(str(place.community_id), place.place_name, people or "[red]无人值班[/red]")
    console.print(table)


def _signed(signed_in: bool) -> str:
    return "，已签到" if signed_in else ""


@app.command()
def gaps(
    community_id: int = typer.Option(..., "--community", min=1, max=2**31 - 1, help="Community id."),
    start: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD (Beijing)."),
    end: str = typer.Option(..., "--to", help="Last day, YYYY-MM-DD (inclusive)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """The stretches of a period in which nobody is on duty at a grid."""
    with session_scope() as session:
        first, last = _day(start, "from"), _day(end, "to")
        found = on_duty.coverage_gaps(
            session, actor=operator(session, as_user), community_id=community_id, start=first, end=last
        )
    if as_json:
        console.print_json(TypeAdapter(list[GapOut]).dump_json(found).decode())
        return
    for gap in found:
        console.print(gap.message)
    console.print(f"共 {len(found)} 处无人值班" if found else "每个网格都有人值班")


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid("日期格式应为 YYYY-MM-DD：{text}", field=field, text=text) from None
