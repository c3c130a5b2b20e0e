"""`jiayuan ingest`: the device event consumer on its own (for scale-out or a separate service)."""

from __future__ import annotations

import logging
import signal
from types import FrameType

import typer

from jiayuan.cli.common import console, err_console, settings


def ingest(
    migrate_first: bool = typer.Option(False, "--migrate/--no-migrate", help="Run migrations first."),
) -> None:
    """Consume device events from MQTT into the database until stopped (Ctrl-C / SIGTERM)."""
    from jiayuan.db import migrate
    from jiayuan.devices.protocol import Topics
    from jiayuan.ingest.runner import IngestLoop
    from jiayuan.kernel.heap import settle

    config = settings()
    if not config.mqtt_url:
        err_console.print("[red]未配置 JIAYUAN_MQTT_URL：请设置 MQTT 地址，例如 mqtt://127.0.0.1:1883[/red]")
        raise typer.Exit(2)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if migrate_first:
        migrate.upgrade(config.database_url)
    loop = IngestLoop(config)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        loop.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    console.print(f"设备事件接入已启动 ingest on {Topics(config.mqtt_topic_prefix).events_filter}")
    settle()
    loop.run()
    stats = loop.stats
    console.print(
        f"已停止 stopped: {stats.messages} messages, {stats.accepted} stored, "
        f"{stats.duplicates} duplicates, {stats.dead} dead letters"
    )
