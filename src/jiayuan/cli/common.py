"""Helpers shared by the command groups: settings, sessions, errors as messages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.errors import JiayuanError, RowErrors
from jiayuan.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    """The configured settings."""
    return get_settings()


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
    finally:
        engine.dispose()
