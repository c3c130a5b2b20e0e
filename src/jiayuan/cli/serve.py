"""`jiayuan serve`: the platform against the configured database and broker."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

import typer
import uvicorn

from jiayuan.cli.common import console, settings
from jiayuan.db import migrate
from jiayuan.kernel.heap import settle
from jiayuan.settings import Settings


def start_ingest(config: Settings) -> Callable[[], None]:
    """Run the device ingest loop in a child process; returns its stop function."""
    from jiayuan.ingest.runner import start_in_child_process

    stop = start_in_child_process(config)
    console.print(f"设备事件接入 ingest: {config.mqtt_topic_prefix}/v1/devices/+/events")
    return stop


def server_config(config: Settings, *, host: str, port: int) -> uvicorn.Config:
    """How the web app is served (the ingest benchmark serves it the same way)."""
    from jiayuan.web.app import create_app

    # Live-feed messages are a few hundred bytes: compressing each one costs more CPU than it saves.
    return uvicorn.Config(
        create_app(config), host=host, port=port, log_level="warning", ws_per_message_deflate=False
    )


def run_platform(
    config: Settings,
    *,
    host: str,
    port: int,
    stops: Iterable[Callable[[], None]] = (),
    when_listening: Callable[[], None] | None = None,
) -> None:
    """Serve the web app and API until interrupted, then call each stop function in order.

    `when_listening` is called once the port accepts connections: a URL printed earlier could be
    opened before there is anything behind it.
    """
    try:
        server = uvicorn.Server(server_config(config, host=host, port=port))
        settle()
        if when_listening is not None:
            threading.Thread(
                target=_call_when_started, args=(server, when_listening), name="jiayuan-ready", daemon=True
            ).start()
        server.run()
    finally:
        for stop in stops:
            stop()


def _call_when_started(server: uvicorn.Server, callback: Callable[[], None]) -> None:
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.05)
    callback()


def serve(
    host: str = typer.Option(None, help="Interface to listen on (default JIAYUAN_HOST)."),
    port: int = typer.Option(None, help="Port (default JIAYUAN_PORT)."),
    migrate_first: bool = typer.Option(True, "--migrate/--no-migrate", help="Run migrations first."),
) -> None:
    """Run the web app, the API and (when JIAYUAN_MQTT_URL is set) the device ingest."""
    config = settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if migrate_first:
        migrate.upgrade(config.database_url)
    host, port = host or config.host, port or config.port
    stops = [start_ingest(config)] if config.mqtt_url else []

    def listening() -> None:
        console.print(f"平安家园 · 智慧社区 running at http://{host}:{port}/console")

    run_platform(config, host=host, port=port, stops=stops, when_listening=listening)
