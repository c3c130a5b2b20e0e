"""`jiayuan simulate gates`: realistic traffic at the registered gates, over MQTT."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from jiayuan.cli.common import console, err_console, settings

app = typer.Typer(help="模拟 Simulators for demos and load.", no_args_is_help=True)


@app.command()
def gates(
    rate: float = typer.Option(5.0, "--rate", min=0.01, help="Happenings per second at the peak hours."),
    duration: float = typer.Option(60.0, "--duration", min=0, help="Seconds to run (0 = until Ctrl-C)."),
    seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same traffic)."),
) -> None:
    """Residents, visitors, deliveries, outside vehicles and a few bad scans and payloads."""
    from jiayuan.sim.runner import run

    config = settings()
    if not config.mqtt_url:
        err_console.print(
            "[red]未配置 JIAYUAN_MQTT_URL：请设置 MQTT 地址，或用 jiayuan demo 启动内置服务[/red]"
        )
        raise typer.Exit(2)
    with Progress(
        TextColumn("[bold]模拟门岗流量"), BarColumn(), TextColumn("{task.fields[messages]} 条消息"),
        TimeElapsedColumn(), console=console,
    ) as bar:  # fmt: skip
        task = bar.add_task("sim", total=duration or None, messages=0)
        started = bar.get_time()
        try:
            stats = run(
                config,
                rate=rate,
                duration=duration or None,
                seed=seed,
                progress=lambda s: bar.update(task, completed=bar.get_time() - started, messages=s.messages),
            )
        except ValueError as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
    console.print(f"已发布 published {stats.messages} messages ({stats.ticks} happenings)")
