"""The `jiayuan` command."""

from __future__ import annotations

import typer

from jiayuan.cli import (
    broker,
    cases,
    db,
    demo,
    devices,
    duty,
    gates,
    ingest,
    notify,
    passes,
    patrol,
    residents,
    seed,
    serve,
    simulate,
    snapshots,
    stats,
    users,
    vision,
)

app = typer.Typer(
    help="家园 Jiayuan: 平安家园 · 智慧社区 platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(residents.app, name="residents")
app.add_typer(users.app, name="user")
app.command("serve")(serve.serve)
app.command("ingest")(ingest.ingest)
app.add_typer(passes.app, name="pass")
app.add_typer(gates.app, name="gates")
app.add_typer(devices.app, name="devices")
app.add_typer(broker.app, name="broker")
app.add_typer(simulate.app, name="simulate")
app.add_typer(vision.app, name="vision")
app.add_typer(seed.app, name="seed")
app.add_typer(snapshots.app, name="snapshots")
app.add_typer(cases.app, name="cases")
app.add_typer(duty.app, name="duty")
app.add_typer(notify.app, name="notify")
app.add_typer(patrol.app, name="patrol")
app.command("stats")(stats.stats)
app.command("demo")(demo.demo)

if __name__ == "__main__":
    app()
