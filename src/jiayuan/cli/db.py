"""`jiayuan db …`: migrations."""

from __future__ import annotations

import typer

from jiayuan.cli.common import console, settings
from jiayuan.db import migrate

app = typer.Typer(help="数据库迁移 Database migrations.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Bring the configured database up to date."""
    migrate.upgrade(settings().database_url, revision)
    console.print(f"数据库已是最新 database at {revision}")
