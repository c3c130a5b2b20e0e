"""`jiayuan gates …`: gates with their devices, overnight vehicles, pass material for readers."""

from __future__ import annotations

import json

import typer

from jiayuan.access import reports
from jiayuan.cli.common import console, session_scope
from jiayuan.kernel.principal import Principal

app = typer.Typer(help="出入口 Gates and their devices.", no_args_is_help=True)


@app.command("list")
def list_gates(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List every gate with its compound and devices."""
    with session_scope() as session:
        gates = reports.list_gates(session, actor=Principal.system())
    if as_json:
        console.print_json(json.dumps([g.model_dump() for g in gates], ensure_ascii=False))
        return
    from rich.table import Table

    table = Table("编号", "代码", "名称", "小区", "设备")
    for gate in gates:
        table.add_row(
            str(gate.id), gate.code, gate.name, gate.compound_name, ", ".join(d.id for d in gate.devices)
        )
    console.print(table)
