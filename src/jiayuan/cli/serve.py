"""`jiayuan serve`: the platform against the configured database and broker."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from types import FrameType
from typing import TYPE_CHECKING

import typer
import uvicorn

from jiayuan.cli.common import console, settings
from jiayuan.cli.notify import start_senders
from jiayuan.db import migrate
from jiayuan.kernel.heap import settle
from jiayuan.settings import Settings

if TYPE_CHECKING:  # imported when used: `jiayuan --help` stays quick
    from jiayuan.ingest.supervisor import IngestSupervisor
    from jiayuan.web.routes.health import IngestHealthSource


def start_ingest(config: Settings) -> IngestSupervisor:
    """Run the device ingest loop in a supervised child process (restarted if it dies); once subscribed,
    returns its supervisor (`stop()`, and `health()` for `/healthz`)."""
    from jiayuan.devices.protocol import Topics
    from jiayuan.ingest.supervisor import start_in_child_process

    supervisor = start_in_child_process(config)
    console.print(f"设备事件接入 ingest: {Topics(config.mqtt_topic_prefix).events_filter}")
    return supervisor


def server_config(
    config: Settings, *, host: str, port: int, ingest: IngestHealthSource | None = None
) -> uvicorn.Config:
    """How the web app is served (the ingest benchmark serves it the same way)."""
    from jiayuan.web.app import create_app

    # Live-feed messages are a few hundred bytes: compressing each one costs more CPU than it saves.
    return uvicorn.Config(
        create_app(config, ingest=ingest),
        host=host,
        port=port,
        log_level="warning",
        ws_per_message_deflate=False,
    )


def run_platform(
    config: Settings,
    *,
    host: str,
    port: int,
    stops: Iterable[Callable[[], None]] = (),
    ingest: IngestHealthSource | None = None,
    when_listening: Callable[[], None] | None = None,
) -> None:
    """Serve the web app and API until interrupted, then call each stop function in order.

    `ingest` is the supervised ingest that `/healthz` reports on.

    `when_listening` is called once the port accepts connections: a URL printed earlier could be
    opened before there is anything behind it.
    """
    signal.signal(signal.SIGTERM, _exit_through_finally)
    try:
        server = uvicorn.Server(server_config(config, host=host, port=port, ingest=ingest))
        settle()
        if when_listening is not None:
            threading.Thread(
                target=_call_when_started, args=(server, when_listening), name="jiayuan-ready", daemon=True
            ).start()
        server.run()
    finally:
        for stop in stops:
            stop()


def _exit_through_finally(_signum: int, _frame: FrameType | None) -> None:
    """uvicorn shuts down on SIGTERM, then raises it again: by default that would end the process
    before the stop functions run (the ingest child would be left to notice on its own)."""
    raise SystemExit(0)


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
    """Run the web app, the API, the outbox senders and (when
    JIAYUAN_MQTT_URL is set) the device ingest."""
    config = settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if migrate_first:
        migrate.upgrade(config.database_url)
    host, port = host or config.host, port or config.port
    ingest = start_ingest(config) if config.mqtt_url else None
    stops = [ingest.stop] if ingest is not None else []
    stops.insert(0, start_senders(config))

    def listening() -> None:
        console.print(f"平安家园 · 智慧社区 running at http://{host}:{port}/console")

    run_platform(config, host=host, port=port, stops=stops, ingest=ingest, when_listening=listening)
