"""`jiayuan demo`: everything on one machine with embedded defaults, for a first look."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import typer

from jiayuan.cli import seed
from jiayuan.cli.common import console, settings
from jiayuan.cli.serve import run_platform


def demo(
    host: str = typer.Option(None, help="Interface to listen on (default JIAYUAN_HOST)."),
    port: int = typer.Option(None, help="Port (default JIAYUAN_PORT)."),
) -> None:
    """Migrate, load the demo community once, then run broker, ingest and the web app together."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    config = settings()
    config.var_dir.mkdir(parents=True, exist_ok=True)
    seed.demo(show_accounts=False)

    stops: list[Callable[[], None]] = []
    if not config.mqtt_url:
        from jiayuan.ingest.embedded_broker import EmbeddedBroker

        broker = EmbeddedBroker().start()
        stops.append(broker.stop)
        config = config.model_copy(update={"mqtt_url": broker.url})
        console.print(f"内置 MQTT 服务 embedded broker: 127.0.0.1:{broker.port}")

    host, port = host or config.host, port or config.port
    seed.print_accounts()
    console.print(
        f"[bold green]平安家园 · 智慧社区 ready in {time.monotonic() - started:.1f} s → "
        f"http://{host}:{port}/console[/bold green]   (Ctrl-C 停止 to stop)"
    )
    run_platform(config, host=host, port=port, also_stop=stops)
