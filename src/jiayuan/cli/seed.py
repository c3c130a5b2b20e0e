"""`jiayuan seed …`: load the demo community."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from jiayuan.accounts import passwords
from jiayuan.cli.common import console, os_operator, session_scope, settings, vault
from jiayuan.cli.progress import stage_bar
from jiayuan.db import migrate
from jiayuan.demo.accounts import DEMO_ACCOUNTS
from jiayuan.demo.duty import extend_rosters
from jiayuan.demo.layout import compound
from jiayuan.demo.seed import RESIDENT_HOME, demo_present, resident_phone, seed_demo
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.principal import ROLE_LABELS

app = typer.Typer(help="演示数据 Demo data.", no_args_is_help=True)


@app.command()
def demo(
    show_accounts: bool = typer.Option(True, "--accounts/--no-accounts", help="Print the demo accounts."),
) -> None:
    """Load 紫荆路社区 and 园丁街 (deterministic; a second run changes nothing)."""
    config = settings()
    migrate.upgrade(config.database_url)
    passwords.configure(time_cost=config.argon2_time_cost, memory_kib=config.argon2_memory_kib)
    started = time.perf_counter()
    with session_scope() as session:
        present = demo_present(session)
    if present:
        with session_scope() as session:
            rostered = extend_rosters(session, actor=os_operator(), today=local(utcnow()).date())
        if rostered is not None and rostered.created:
            console.print(
                f"演示数据已存在；值班表续排 {rostered.created} 个班次 (demo data loaded; roster extended)"
            )
        else:
            console.print("演示数据已存在，未做任何更改 (demo data already loaded, nothing changed)")
    else:
        with session_scope() as session, stage_bar() as bar:
            result = seed_demo(session, vault=vault(), progress=bar, actor=os_operator())
        console.print(
            f"已载入演示数据：{result.households} 户、{result.residents} 名居民、{result.vehicles} 辆车、"
            f"{result.shops} 家商铺、{result.users} 个账号，用时 {time.perf_counter() - started:.1f} 秒"
        )
    if show_accounts:
        print_accounts()


def print_accounts() -> None:
    """The demo accounts and their passwords, as a table."""
    table = Table(title="演示账号 Demo accounts")
    # Usernames and passwords are never cut short, however narrow the terminal.
    table.add_column("用户名", no_wrap=True, min_width=max(len(a.username) for a in DEMO_ACCOUNTS))
    table.add_column("密码", no_wrap=True, min_width=max(len(a.password) for a in DEMO_ACCOUNTS))
    for column in ("角色", "姓名", "范围"):
        table.add_column(column, overflow="fold")
    for account in DEMO_ACCOUNTS:
        table.add_row(
            account.username,
            account.password,
            ROLE_LABELS[account.role],
            account.display_name,
            account.scope_label,
        )
    console.print(table)
    with session_scope() as session:
        found = resident_phone(session, vault=vault())
    if found is not None:
        phone, name = found
        console.print(
            f"居民 H5 页面 /h5：用手机号 {phone}（{name}，{compound(RESIDENT_HOME[0]).name} "
            f"{' '.join(RESIDENT_HOME[1:])}）获取验证码登录；未配置短信时验证码只显示在控制台「消息」页，"
            "用 admin 登录查看 (resident H5 at /h5: sign in with this mobile; the one-time code shows on the "
            "console's 消息 page to admins)"
        )
