"""`jiayuan demo`: everything on one machine with embedded defaults, for a first look."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable

import typer

from jiayuan.cli import seed
from jiayuan.cli.common import console, settings
from jiayuan.cli.notify import start_senders
from jiayuan.cli.serve import run_platform, start_ingest
from jiayuan.demo.accounts import face_lines
from jiayuan.settings import Settings


def demo(
    host: str = typer.Option(None, help="Interface to listen on (default JIAYUAN_HOST)."),
    port: int = typer.Option(None, help="Port (default JIAYUAN_PORT)."),
) -> None:
    """Migrate, load the demo community once, then run broker, ingest, simulator, cameras and web app."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.monotonic()
    config = settings()
    config.var_dir.mkdir(parents=True, exist_ok=True)
    seed.demo(show_accounts=False)

    stops: list[Callable[[], None]] = []
    if not config.mqtt_url:
        from jiayuan.ingest.embedded_broker import EmbeddedBroker, free_port

        wanted = config.embedded_mqtt_port
        broker = EmbeddedBroker(
            database_url=config.database_url, prefix=config.mqtt_topic_prefix, port=free_port(wanted)
        )
        broker.start()
        stops.append(broker.stop)
        # amqtt lets a connection take over a client id before it has signed in (and drops that
        # id's stored session when it asks for a clean one): the ingest's id is not guessable here.
        ingest_id = f"{config.mqtt_client_id}-{secrets.token_hex(6)}"
        # The embedded broker checks device logins against the database itself: nothing to keep in step.
        config = config.model_copy(
            update={"mqtt_url": broker.url, "mqtt_client_id": ingest_id, "mqtt_dynsec": False}
        )
        console.print(f"内置 MQTT 服务 embedded broker: 127.0.0.1:{broker.port}")
        if broker.port != wanted:
            console.print(
                f"[yellow]端口 {wanted} 已被占用，改用 {broker.port} (port {wanted} is taken; set"
                " JIAYUAN_EMBEDDED_MQTT_PORT to choose one)[/yellow]"
            )

    # Ingest first: its persistent session must exist before the gates start publishing.
    ingest = start_ingest(config)
    stops.insert(0, ingest.stop)
    stops.insert(0, start_simulator(config))
    stops.insert(0, start_cameras(config))
    stops.insert(0, start_senders(config))

    host, port = host or config.host, port or config.port
    seed.print_accounts()

    def ready() -> None:
        for line in face_lines(f"http://{host}:{port}"):
            console.print(line, highlight=False)
        console.print(
            f"[bold green]平安家园 · 智慧社区 ready in {time.monotonic() - started:.1f} s → "
            f"http://{host}:{port}/console[/bold green]   (Ctrl-C 停止 to stop)"
        )

    run_platform(config, host=host, port=port, stops=stops, ingest=ingest, when_listening=ready)


def start_simulator(config: Settings) -> Callable[[], None]:
    """Gate traffic for the demo community's five gates."""
    from jiayuan.sim.runner import start_in_background

    stop = start_in_background(config)
    console.print("闸机模拟器 gate simulator: 5 gates")
    return stop


def start_cameras(config: Settings) -> Callable[[], None]:
    """One vision worker per gate camera, on the shared sample clips; none when the clips are absent."""
    from jiayuan.vision.feed import start_in_background

    try:
        stop = start_in_background(config)
    except FileNotFoundError as missing:
        console.print(
            f"[yellow]未找到示例视频，摄像机分析未启动 (no sample clips, cameras off): {missing}[/yellow]"
        )
        return lambda: None
    console.print("摄像机分析 vision workers: gate cameras on the sample clips")
    return stop
