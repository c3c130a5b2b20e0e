"""`jiayuan notify …`: run the outbox senders, list the outbox."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from types import FrameType

import typer
from rich.table import Table

from jiayuan.cli.common import AS_HELP, console, err_console, operator, session_scope, settings
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.from_settings import configure_notify, notify_client, notify_pruner, notify_senders
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.paging import MAX_PAGE, MAX_PAGE_SIZE, PageParams
from jiayuan.kernel.principal import Principal
from jiayuan.notify import service
from jiayuan.notify.sender import Senders
from jiayuan.notify.states import ChannelName, MessageState
from jiayuan.settings import Settings

app = typer.Typer(help="消息 Outbox: send the queued messages, list them.", no_args_is_help=True)


def start_senders(config: Settings) -> Callable[[], None]:
    """Start a sender loop per configured provider, and the hourly pruning of old messages, in threads of
    this process (on their own database connections and HTTP client); the function that stops them."""
    configure_notify(config)  # the sender reads the sealed SMS targets
    engine = make_engine(config.database_url)
    sessions = make_sessionmaker(engine)
    client = notify_client(config)
    senders = notify_senders(config, sessions, client)
    running = Senders(senders, pruner=notify_pruner(config, sessions)).start()
    names = "、".join(s.channel.name.label for s in senders) or "未配置渠道，消息显示在控制台「消息」页"
    console.print(f"消息发送 outbox: {names}")

    def stop() -> None:
        running.stop(timeout=config.notify_timeout_s * 3 + 1)
        client.close()
        engine.dispose()

    return stop


@app.command()
def run(
    once: bool = typer.Option(False, "--once", help="One pass over what is due now, then exit."),
) -> None:
    """Send the outbox's messages through the configured providers until interrupted (or once)."""
    config = settings()
    engine = make_engine(config.database_url)
    client = notify_client(config)
    try:
        senders = notify_senders(config, make_sessionmaker(engine), client)
        if not senders:
            err_console.print("未配置任何消息渠道（JIAYUAN_NOTIFY_*）：消息只显示在控制台，无需发送")
            raise typer.Exit(0)
        if once:
            for sender in senders:
                counts = sender.run_once()
                done = "，".join(f"{state.label} {n}" for state, n in counts.items()) or "无到期消息"
                console.print(f"{sender.channel.name.label}：{done}")
            return
        running = Senders(senders).start()
        stopped = threading.Event()

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            stopped.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        console.print("消息发送中：" + "、".join(s.channel.name.label for s in senders) + "（Ctrl-C 停止）")
        stopped.wait()
        running.stop(timeout=config.notify_timeout_s * 3 + 1)
    finally:
        client.close()
        engine.dispose()


@app.command()
def prune(
    days: int | None = typer.Option(
        None, "--days", min=1, max=3650, help="Keep this many days (default JIAYUAN_NOTIFY_RETENTION_DAYS)."
    ),
) -> None:
    """Delete sent and failed messages older than the retention (`serve` does this every hour)."""
    config = settings()
    keep = timedelta(days=days or config.notify_retention_days)
    with session_scope() as session:
        gone = service.prune(session, actor=Principal.system(), before=utcnow() - keep)
    console.print(f"已删除 {gone} 条 {keep.days} 天前已发送或发送失败的消息")


@app.command("list")
def list_(
    state: MessageState | None = typer.Option(None, "--state", help="Only messages in this state."),
    channel: ChannelName | None = typer.Option(None, "--channel", help="Only messages of this channel."),
    page: int = typer.Option(1, "--page", min=1, max=MAX_PAGE),
    size: int = typer.Option(20, "--size", min=1, max=MAX_PAGE_SIZE),
    as_json: bool = typer.Option(False, "--json", help="Print the page as JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """The outbox within the operator's reach, newest first."""
    with session_scope() as session:
        found = service.list_messages(
            session,
            actor=operator(session, as_user),
            channel=channel,
            state=state,
            params=PageParams(page=page, size=size),
        )
    if as_json:
        console.print_json(found.model_dump_json())
        return
    table = Table(
        "编号", "渠道", "标题", "状态", "次数", "错误", "时间", title=f"消息（共 {found.total} 条）"
    )
    for m in found.items:
        table.add_row(str(m.id), m.channel_label, m.title, m.state_label, str(m.attempts), m.last_error,
                      f"{local(m.created_at):%Y-%m-%d %H:%M}")  # fmt: skip
    console.print(table)
