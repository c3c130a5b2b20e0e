"""`jiayuan residents …`: find residents (and import/export them) through the registry services."""

from __future__ import annotations

import json

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.accounts.service import principal_of
from jiayuan.cli.common import console, session_scope, vault
from jiayuan.kernel.errors import NotFound
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal
from jiayuan.registry import service

app = typer.Typer(help="居民 Residents: search, import and export.", no_args_is_help=True)


def acting_principal(session: Session, username: str | None) -> Principal:
    """The system, or the named user's principal (`--as USER`)."""
    if username is None:
        return Principal.system()
    user = session.scalar(select(User).where(User.username == username, User.is_active.is_(True)))
    if user is None:
        raise NotFound(f"用户 {username} 不存在或已停用", field="as")
    return principal_of(user)


@app.command()
def find(
    query: str = typer.Argument(..., help="姓名、拼音、首字母、手机号/身份证号后 4 位或车牌"),
    as_json: bool = typer.Option(False, "--json", help="Print the page as JSON."),
    page: int = typer.Option(1, "--page", min=1, max=100_000, help="Page number (from 1)."),
    size: int = typer.Option(20, "--size", min=1, max=200, help="Residents per page."),
    as_user: str | None = typer.Option(None, "--as", help="Search as this user (default: the system)."),
) -> None:
    """Search residents as the API and the console do; ID numbers and phones stay masked."""
    with session_scope() as session:
        actor = acting_principal(session, as_user)
        found = service.search_residents(
            session, actor=actor, vault=vault(), q=query, page=PageParams(page=page, size=size)
        )
    if as_json:
        typer.echo(json.dumps(found.model_dump(mode="json"), ensure_ascii=False))
        return
    table = Table(title=f"“{query}” 共 {found.total} 人，第 {found.page} 页")
    for column in ("编号", "姓名", "性别", "年龄", "身份证号", "手机号", "住址", "标签"):
        table.add_column(column)
    for item in found.items:
        table.add_row(
            str(item.id),
            item.name + (" (已迁出)" if item.moved_out else ""),
            item.gender,
            str(item.age),
            item.id_number_masked,
            item.phone_masked or "",
            item.address.label,
            " ".join(item.tags),
        )
    console.print(table)
