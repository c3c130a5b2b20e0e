"""Helpers shared by the command groups: settings, sessions, errors as messages."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.orm import Session

from jiayuan.accounts.service.users import active_principal
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.errors import JiayuanError, NotFound, RowErrors
from jiayuan.kernel.principal import Principal, Role
from jiayuan.settings import Settings, get_settings

# Messages carry paths, tokens and URLs that are copied from the terminal: never break them into lines.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

AS_HELP = "以此账户身份执行（受其角色和范围限制）；不给则以当前操作系统用户（os:名字）执行，不受范围限制"


def os_operator() -> Principal:
    """The person at the server's terminal: the whole platform, audited under their OS login (os:root)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers): the numeric user id still names them
        name = f"uid{os.getuid()}"
    return Principal(role=Role.SYSTEM, username=f"os:{name}"[:64])


def operator(session: Session, username: str | None) -> Principal:
    """Who a command acts as: the `--as` account (its role and scope apply) or the OS user."""
    if username is None:
        return os_operator()
    principal = active_principal(session, username)
    if principal is None:
        raise NotFound("用户 {username} 不存在或已停用", field="as", username=username)
    return principal


def settings() -> Settings:
    """The configured settings; settings that cannot work end the command with what is wrong (the
    variable, never its value)."""
    try:
        return get_settings()
    except ValidationError as exc:
        for detail in exc.errors():
            field = ".".join(str(part) for part in detail["loc"])
            where = f"JIAYUAN_{field.upper()}: " if field else ""
            err_console.print(f"[red]设置有误 {where}{detail['msg'].removeprefix('Value error, ')}[/red]")
        raise typer.Exit(2) from exc


def vault() -> PiiVault:
    """The PII vault from the configured key."""
    return PiiVault.from_secret(settings().pii_key.get_secret_value())


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work on the configured database; domain errors become a message and exit 1."""
    engine = make_engine(settings().database_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            yield session
    except RowErrors as exc:
        for error in exc.errors:
            err_console.print(f"第 {error.row} 行 [{error.column}]: {error.reason}")
        err_console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    except JiayuanError as exc:
        where = f" ({exc.field})" if exc.field else ""
        err_console.print(f"[red]错误{where}: {exc.message}[/red]")
        raise typer.Exit(1) from exc
    except ValidationError as exc:  # an option the schema refuses (a date out of range, …)
        for detail in exc.errors():
            field = ".".join(str(part) for part in detail["loc"])
            err_console.print(f"[red]错误 ({field}): {detail['msg'].removeprefix('Value error, ')}[/red]")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
