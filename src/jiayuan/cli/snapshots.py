"""`jiayuan snapshots …`: keep the stored evidence snapshots within their retention and byte budget."""

from __future__ import annotations

import typer

from jiayuan.cli.common import console, os_operator, session_scope, settings
from jiayuan.devices.service import snapshots
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.from_settings import snapshot_retention

app = typer.Typer(help="抓拍图片 Evidence snapshots: prune.", no_args_is_help=True)


@app.command("prune")
def prune() -> None:
    """Delete snapshots past JIAYUAN_SNAPSHOT_RETENTION_DAYS, the oldest beyond JIAYUAN_SNAPSHOT_MAX_BYTES,
    and files no row names (the ingest does this every JIAYUAN_SNAPSHOT_PRUNE_INTERVAL_S)."""
    configured = settings()
    with session_scope() as session:
        result = snapshots.prune(
            session,
            actor=os_operator(),
            files=SnapshotFiles(configured.var_dir),
            retention=snapshot_retention(configured),
        )
    console.print(
        f"已删除过期 {result.expired} 张、超出容量 {result.over_budget} 张、无记录文件 {result.orphans} 个；"
        f"保留 {result.kept} 张，共 {result.kept_bytes / 1024**2:.1f} MiB"
    )
