"""`jiayuan user …`: add (with a hidden password prompt), list, tokens, unlock; clear errors."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.accounts import passwords, service
from jiayuan.accounts.models import AuditEntry, User
from jiayuan.cli.main import app as cli
from jiayuan.registry.models import Device
from jiayuan.settings import get_settings
from tests.integration.registry.helpers import build_tree


@pytest.fixture
def env(
    database_url: str, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The CLI on the test database, with quick hashing."""
    monkeypatch.setenv("JIAYUAN_DATABASE_URL", database_url)
    monkeypatch.setenv("JIAYUAN_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("JIAYUAN_ARGON2_MEMORY_KIB", "1024")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_add_list_and_token(env: None, sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        tree = build_tree(session)
    here, grid = f"community:{tree.community.id}", f"grid:{tree.grid.id}"
    missing = ["nobody", "--role", "grid", "--scope", here, "--scope", "grid:999999", "--password", "x" * 12]
    code, _, err = run("user", "add", *missing)
    assert code == 1 and "范围 grid:999999 不存在" in err
    grid_worker = ["王丽娟", "--role", "grid", "--scope", here, "--scope", grid]
    code, out, _ = run("user", "add", *grid_worker, "--password", "grid-pass-2026")
    assert code == 0, out
    assert "网格员" in out
    typed = "staff-pass-2026\nstaff-pass-2026\n"
    code, out, _ = run("user", "add", "zhoumin", "--role", "staff", "--scope", here, stdin=typed)
    assert code == 0, out
    assert "staff-pass-2026" not in out
    with sessions() as session:
        stored = session.scalars(select(User).where(User.username == "zhoumin")).one()
        assert stored.password_hash and passwords.verify_password(stored.password_hash, "staff-pass-2026")
    code, out, _ = run("user", "list", "--json")
    listed = {u["username"]: u for u in json.loads(out)}
    assert listed["王丽娟"]["scopes"] == [here, grid] and listed["王丽娟"]["role"] == "grid"
    code, out, err = run("user", "token", "王丽娟")
    assert code == 0 and "只显示这一次" in err
    token = out.strip()
    with sessions() as session:
        assert service.principal_for_token(session, token).grid_ids == frozenset({tree.grid.id})
        actions = session.scalars(select(AuditEntry.action)).all()
    assert actions.count("user.create") == 2 and "token.issue" in actions


def test_device_token_and_unlock(env: None, sessions: sessionmaker[Session]) -> None:
    code, _, err = run("user", "device-token", "jjhy-gate1-qr")
    assert code == 1 and "设备不存在" in err  # only a registered device gets a token
    with sessions() as session:
        session.add(Device(id="jjhy-gate1-qr", kind="qr", name="1号门二维码", config={}))
        session.commit()
    code, out, _ = run("user", "device-token", "jjhy-gate1-qr")
    assert code == 0
    with sessions() as session:
        assert service.principal_for_token(session, out.strip()).device_id == "jjhy-gate1-qr"
    run("user", "add", "liuying", "--role", "staff", "--password", "staff-pass-2026")
    code, out, _ = run("user", "unlock", "liuying")
    assert code == 0 and "已解除" in out
    code, out, _ = run("user", "deactivate", "liuying", "--reason", "调离")
    assert code == 0 and "已停用" in out
    with sessions() as session:
        assert session.scalars(select(User.is_active).where(User.username == "liuying")).one() is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["user", "add", "x1", "--role", "boss", "--password", "long-enough"], "未知角色"),
        (["user", "add", "x1", "--role", "grid", "--scope", "grid", "--password", "long-enough"], "范围格式"),
        (["user", "add", "x1", "--role", "grid", "--password", "short"], "密码至少 8 位"),
        (["user", "add", "a b", "--role", "grid", "--password", "long-enough"], "用户名须为"),
        (["user", "token", "nobody"], "用户不存在"),
        (["user", "unlock", "nobody"], "用户不存在"),
    ],
)
def test_bad_input_says_what_is_wrong(
    env: None, sessions: sessionmaker[Session], args: list[str], message: str
) -> None:
    code, out, err = run(*args)
    assert code != 0
    assert message in out + err
    with sessions() as session:
        assert session.scalars(select(User)).all() == []
