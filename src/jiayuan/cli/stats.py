"""`jiayuan stats`: how many compounds, buildings, households, residents and vehicles per community."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from jiayuan.cli.common import AS_HELP, console, operator, session_scope
from jiayuan.registry.schemas import Counts
from jiayuan.registry.service.stats import registry_stats

_COLUMNS = (
    ("compounds", "小区"),
    ("buildings", "楼栋"),
    ("units", "单元"),
    ("households", "户"),
    ("residents", "居民"),
    ("vehicles", "车辆"),
    ("shops", "商铺"),
)


def stats(
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Counts per level, per community and in total (residents who moved out are not counted)."""
    with session_scope() as session:
        found = registry_stats(session, actor=operator(session, as_user))
    if as_json:
        typer.echo(json.dumps(found.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    table = Table(title="社区底数统计")
    table.add_column("街道")
    table.add_column("社区")
    for _key, label in _COLUMNS:
        table.add_column(label, justify="right")

    def numbers(counts: Counts) -> list[str]:
        return [f"{getattr(counts, key):,}" for key, _label in _COLUMNS]

    for community in found.communities:
        table.add_row(community.street, community.name, *numbers(community))
    table.add_section()
    table.add_row("", "合计", *numbers(found.total), style="bold")
    console.print(table)
