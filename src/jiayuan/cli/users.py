"""`jiayuan user …`: accounts from the command line (acting as the platform itself)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from jiayuan.accounts import passwords, service
from jiayuan.accounts.schemas import USER_ROLES, UserOut, parse_scope
from jiayuan.cli.common import console, err_console, session_scope, settings
from jiayuan.kernel.clock import local
from jiayuan.kernel.errors import Invalid
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import ROLE_LABELS, Principal, Role
from jiayuan.registry.directory import scope_resolver

app = typer.Typer(help="用户与令牌 Users and API tokens.", no_args_is_help=True)

_ROLE_HELP = "，".join(f"{r.value}（{ROLE_LABELS[r]}）" for r in USER_ROLES)


def _configure_hashing() -> None:
    config = settings()
    passwords.configure(time_cost=config.argon2_time_cost, memory_kib=config.argon2_memory_kib)


def _role(value: str) -> Role:
    try:
        role = Role(value.strip().lower())
    except ValueError:
        role = None
    if role is None or role is Role.SYSTEM:
        err_console.print(f"[red]未知角色 {value!r}；可选：{_ROLE_HELP}[/red]")
        raise typer.Exit(2)
    return role


@app.command("add")
def add(
    username: str = typer.Argument(..., help="登录名 Username."),
    role: str = typer.Option(..., "--role", "-r", help=f"角色 Role: {_ROLE_HELP}."),
    scope: list[str] = typer.Option(
        [], "--scope", "-s", help="负责范围，可重复：community:1、compound:2、grid:3、household:4、person:5."
    ),
    display_name: str = typer.Option("", "--name", help="显示的姓名 Display name."),
    password: str | None = typer.Option(
        None, "--password", help="密码（不给则交互输入，不回显）Password; prompted when omitted."
    ),
    no_password: bool = typer.Option(False, "--no-password", help="不设密码（仅用令牌，如设备账户）."),
) -> None:
    """Add a user with a role and scopes; asks for the password without echoing it."""
    chosen = _role(role)
    try:
        scopes = [parse_scope(s) for s in scope]
    except Invalid as exc:
        err_console.print(f"[red]错误 (--scope): {exc.message}[/red]")
        raise typer.Exit(2) from exc
    if password is None and not no_password:
        password = typer.prompt("密码 Password", hide_input=True, confirmation_prompt=True)
    _configure_hashing()
    with session_scope() as session:
        user = service.create_user(
            session,
            actor=Principal.system(),
            username=username,
            display_name=display_name,
            role=chosen,
            password=None if no_password else password,
            scopes=scopes,
            community_of=scope_resolver(session),
        )
        console.print(f"已添加用户 {user.username}（{ROLE_LABELS[chosen]}，编号 {user.id}）")


@app.command("list")
def list_users(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出 Print JSON.")) -> None:
    """List every user with role, scopes and state."""
    with session_scope() as session:
        users: list[UserOut] = []
        page = 1
        while True:
            chunk = service.list_users(
                session, actor=Principal.system(), params=PageParams(page=page, size=200)
            )
            users += chunk.items
            if page * chunk.size >= chunk.total:
                break
            page += 1
    if as_json:
        typer.echo(json.dumps([u.model_dump(mode="json") for u in users], ensure_ascii=False, indent=2))
        return
    table = Table("编号", "用户名", "姓名", "角色", "范围", "状态", "最近登录")
    for user in users:
        state = "已停用" if not user.is_active else ("已锁定" if user.locked_until else "正常")
        last = local(user.last_login_at).strftime("%Y-%m-%d %H:%M") if user.last_login_at else ""
        table.add_row(
            str(user.id),
            user.username,
            user.display_name,
            ROLE_LABELS[Role(user.role)],
            " ".join(user.scopes),
            state,
            last,
        )
    console.print(table)


@app.command("token")
def token(
    username: str = typer.Argument(..., help="登录名 Username."),
    name: str = typer.Option("命令行", "--name", help="令牌名称，便于日后识别和吊销."),
) -> None:
    """Print a new API token for the user (shown once; only its hash is stored)."""
    with session_scope() as session:
        user = service.find_user(session, actor=Principal.system(), username=username)
        plain = service.issue_api_token(session, actor=Principal.system(), user_id=user.id, name=name)
    err_console.print(f"已为 {username} 签发令牌（只显示这一次，请妥善保存）：")
    typer.echo(plain)


@app.command("device-token")
def device_token(
    device_id: str = typer.Argument(..., help="设备编号 Device id, e.g. jjhy-gate1-qr."),
    name: str = typer.Option("设备", "--name", help="令牌名称."),
) -> None:
    """Print a new token for a device (MQTT password / HTTP bearer); shown once."""
    from jiayuan.cli.broker import push_devices
    from jiayuan.cli.common import settings
    from jiayuan.devices import credentials

    sealer = credentials.sealer_for(settings().secret_key.get_secret_value())
    with session_scope() as session:
        issued = credentials.issue_token(
            session, actor=Principal.system(), device_id=device_id, name=name, sealer=sealer
        )
    err_console.print(f"已为设备 {device_id} 签发令牌（只显示这一次；它也是设备的 MQTT 口令）：")
    typer.echo(issued.token)
    push_devices(settings(), [device_id])


@app.command("unlock")
def unlock(username: str = typer.Argument(..., help="登录名 Username.")) -> None:
    """Lift a login lock before it runs out."""
    with session_scope() as session:
        user = service.find_user(session, actor=Principal.system(), username=username)
        service.unlock_user(session, actor=Principal.system(), user_id=user.id)
    console.print(f"已解除 {username} 的登录锁定")


@app.command("deactivate")
def deactivate(
    username: str = typer.Argument(..., help="登录名 Username."),
    reason: str = typer.Option("", "--reason", help="停用原因（记入审计日志）."),
) -> None:
    """Stop a user from signing in; ends their sessions and revokes their tokens."""
    with session_scope() as session:
        user = service.find_user(session, actor=Principal.system(), username=username)
        service.deactivate_user(
            session, actor=Principal.system(), user_id=user.id, reason=reason.strip() or None
        )
    console.print(f"已停用 {username}，其会话已结束、令牌已吊销")
