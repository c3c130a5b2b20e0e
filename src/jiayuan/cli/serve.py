"""`jiayuan serve`: the platform against the configured database and broker."""

from __future__ import annotations

import typer
import uvicorn

from jiayuan.cli.common import settings
from jiayuan.db import migrate


def serve(
    host: str = typer.Option(None, help="Interface to listen on (default JIAYUAN_HOST)."),
    port: int = typer.Option(None, help="Port (default JIAYUAN_PORT)."),
    migrate_first: bool = typer.Option(True, "--migrate/--no-migrate", help="Run migrations first."),
) -> None:
    """Run the web app and API (uvicorn)."""
    from jiayuan.web.app import create_app

    config = settings()
    if migrate_first:
        migrate.upgrade(config.database_url)
    uvicorn.run(create_app(config), host=host or config.host, port=port or config.port, log_level="info")
