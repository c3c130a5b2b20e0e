"""`jiayuan devices …`: disable and enable devices (the broker refuses a disabled one at once)."""

from __future__ import annotations

import typer

from jiayuan.cli.broker import push_devices
from jiayuan.cli.common import AS_HELP, console, operator, session_scope, settings
from jiayuan.devices.service import lifecycle

app = typer.Typer(help="设备 Devices: disable, enable.", no_args_is_help=True)


@app.command("disable")
def disable(
    device_id: str = typer.Argument(..., help="设备编号 Device id."),
    reason: str = typer.Option(..., "--reason", help="停用原因（记入审计日志）."),
    keep_tokens: bool = typer.Option(False, "--keep-tokens", help="不吊销设备令牌."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Disable a device and revoke its tokens; the broker disconnects and refuses it."""
    with session_scope() as session:
        switched = lifecycle.disable_device(
            session,
            actor=operator(session, as_user),
            device_id=device_id,
            reason=reason,
            revoke_tokens=not keep_tokens,
        )
    console.print(f"已停用设备 {device_id}，吊销令牌 {switched.tokens_revoked} 个")
    if push_devices(settings(), [device_id]):
        raise typer.Exit(1)


@app.command("enable")
def enable(
    device_id: str = typer.Argument(..., help="设备编号 Device id."),
    reason: str = typer.Option(..., "--reason", help="启用原因（记入审计日志）."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Enable a device again (issue a new token if its tokens were revoked)."""
    with session_scope() as session:
        lifecycle.enable_device(session, actor=operator(session, as_user), device_id=device_id, reason=reason)
    console.print(f"已启用设备 {device_id}")
    if push_devices(settings(), [device_id]):
        raise typer.Exit(1)
