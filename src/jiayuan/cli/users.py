"""`jiayuan user …`: accounts from the command line, audited as the OS user or the `--as` account."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from jiayuan.accounts import passwords
from jiayuan.accounts.schemas import USER_ROLES, MobileIn, UserOut, parse_scope
from jiayuan.accounts.service import logins, tokens, users
from jiayuan.cli.common import AS_HELP, console, err_console, operator, session_scope, settings, vault
from jiayuan.kernel.clock import local
from jiayuan.kernel.errors import Invalid, NotFound
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import ROLE_LABELS, Role
from jiayuan.registry.service.directory import scope_resolver

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
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
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
        user = users.create_user(
            session,
            actor=operator(session, as_user),
            username=username,
            display_name=display_name,
            role=chosen,
            password=None if no_password else password,
            scopes=scopes,
            community_of=scope_resolver(session),
        )
        console.print(f"已添加用户 {user.username}（{ROLE_LABELS[chosen]}，编号 {user.id}）")


@app.command("list")
def list_users(
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出 Print JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """List every user with role, scopes and state."""
    with session_scope() as session:
        actor = operator(session, as_user)
        locked = {lock.username for lock in logins.list_lockouts(session, actor=actor) if lock.username}
        listed: list[UserOut] = []
        page = 1
        while True:
            chunk = users.list_users(session, actor=actor, params=PageParams(page=page, size=200))
            listed += chunk.items
            if page * chunk.size >= chunk.total:
                break
            page += 1
    if as_json:
        typer.echo(json.dumps([u.model_dump(mode="json") for u in listed], ensure_ascii=False, indent=2))
        return
    table = Table("编号", "用户名", "姓名", "角色", "范围", "状态", "最近登录")
    for user in listed:
        state = "已停用" if not user.is_active else ("有登录锁定" if user.username in locked else "正常")
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
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Print a new API token for the user (shown once; only its hash is stored; expires after
    JIAYUAN_API_TOKEN_MAX_DAYS)."""
    with session_scope() as session:
        actor = operator(session, as_user)
        user = users.find_user(session, actor=actor, username=username)
        issued = tokens.create_api_token(
            session, actor=actor, user_id=user.id, name=name, max_days=settings().api_token_max_days
        )
    assert issued.expires_at is not None
    until = local(issued.expires_at).strftime("%Y-%m-%d %H:%M")
    err_console.print(f"已为 {username} 签发令牌（有效至 {until}，只显示这一次，请妥善保存）：")
    plain = issued.token
    typer.echo(plain)


@app.command("device-token")
def device_token(
    device_id: str = typer.Argument(..., help="设备编号 Device id, e.g. jjhy-gate1-qr."),
    name: str = typer.Option("设备", "--name", help="令牌名称."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Print a new token for a device (MQTT password / HTTP bearer); shown once."""
    from jiayuan.cli.broker import push_devices
    from jiayuan.cli.common import settings
    from jiayuan.devices.service import credentials

    sealer = credentials.sealer_for(settings().secret_key.get_secret_value())
    with session_scope() as session:
        issued = credentials.issue_token(
            session, actor=operator(session, as_user), device_id=device_id, name=name, sealer=sealer
        )
    err_console.print(f"已为设备 {device_id} 签发令牌（只显示这一次；它也是设备的 MQTT 口令）：")
    typer.echo(issued.token)
    push_devices(settings(), [device_id])


@app.command("lockouts")
def lockouts(
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出 Print JSON."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """List the login locks in force: a username from one address, or a whole address."""
    with session_scope() as session:
        found = logins.list_lockouts(session, actor=operator(session, as_user))
    if as_json:
        typer.echo(json.dumps([f.model_dump(mode="json") for f in found], ensure_ascii=False, indent=2))
        return
    table = Table("编号", "类型", "用户名", "地址", "失败次数", "锁定至")
    for lock in found:
        kind = "用户名+地址" if lock.kind == logins.ThrottleKind.PAIR else "地址"
        until = local(lock.locked_until).strftime("%Y-%m-%d %H:%M")
        table.add_row(str(lock.id), kind, lock.username or "", lock.ip or "", str(lock.failures), until)
    console.print(table if found else "当前没有登录锁定")


@app.command("unlock")
def unlock(
    username: str | None = typer.Argument(None, help="登录名：解除此账户在所有地址的锁定."),
    ip: str | None = typer.Option(None, "--ip", help="解除此网络地址的锁定（不给用户名时）."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Lift login locks early: every lock on a username, or the lock on one address (--ip)."""
    if (username is None) == (ip is None):
        err_console.print("[red]请给出用户名，或用 --ip 给出网络地址（二选一）[/red]")
        raise typer.Exit(2)
    with session_scope() as session:
        actor = operator(session, as_user)
        if username is not None:
            user = users.find_user(session, actor=actor, username=username)
            users.unlock_user(session, actor=actor, user_id=user.id)
        else:
            wanted = [
                lock
                for lock in logins.list_lockouts(session, actor=actor)
                if lock.ip == ip and not lock.username
            ]
            if not wanted:
                raise NotFound("地址 {ip} 没有登录锁定", field="ip", ip=ip)
            logins.lift_lockout(session, actor=actor, lockout_id=wanted[0].id)
    console.print(f"已解除 {username or ip} 的登录锁定")


@app.command("passwd")
def passwd(username: str = typer.Argument(..., help="您自己的登录名 Your username.")) -> None:
    """Change your own password (asks for the current one); your other sessions and tokens end."""
    current = typer.prompt("当前密码 Current password", hide_input=True)
    new = typer.prompt("新密码 New password", hide_input=True, confirmation_prompt=True)
    _configure_hashing()
    with session_scope() as session:
        actor = users.active_principal(session, username)
        if actor is None:
            raise Invalid("当前密码不正确", field="current_password")
        users.change_password(
            session,
            actor=actor,
            current_password=current,
            new_password=new,
            keep_cookie=None,
        )
    console.print(f"已修改 {username} 的密码；其他会话已退出，API 令牌已全部吊销")


@app.command("reset-password")
def reset_password(
    username: str = typer.Argument(..., help="登录名 Username."),
    password: str | None = typer.Option(
        None, "--password", help="新密码（不给则交互输入，不回显）New password; prompted when omitted."
    ),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Set a user's password as an admin: the user is signed out everywhere and their tokens revoked."""
    if password is None:
        password = typer.prompt("新密码 New password", hide_input=True, confirmation_prompt=True)
    _configure_hashing()
    with session_scope() as session:
        actor = operator(session, as_user)
        user = users.find_user(session, actor=actor, username=username)
        users.reset_password(session, actor=actor, user_id=user.id, new_password=password)
    console.print(f"已重置 {username} 的密码；其所有会话已退出，API 令牌已全部吊销")


@app.command("mobile")
def mobile(
    username: str = typer.Argument(..., help="登录名 Username."),
    number: str = typer.Argument("", help="11 位手机号；不给则清除 The mobile; omitted to clear."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Set the mobile a person's own notices (dispatches, escalations, shift reminders) go to."""
    with session_scope() as session:
        actor = operator(session, as_user)
        user = users.find_user(session, actor=actor, username=username)
        done = users.set_mobile(
            session, actor=actor, user_id=user.id, data=MobileIn(mobile=number), vault=vault()
        )
    console.print(
        f"{username} 的手机号：{done.mobile_masked}" if done.mobile_masked else f"已清除 {username} 的手机号"
    )


@app.command("deactivate")
def deactivate(
    username: str = typer.Argument(..., help="登录名 Username."),
    reason: str = typer.Option("", "--reason", help="停用原因（记入审计日志）."),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Stop a user from signing in; ends their sessions and revokes their tokens."""
    with session_scope() as session:
        actor = operator(session, as_user)
        user = users.find_user(session, actor=actor, username=username)
        users.deactivate_user(session, actor=actor, user_id=user.id, reason=reason.strip() or None)
    console.print(f"已停用 {username}，其会话已结束、令牌已吊销")
