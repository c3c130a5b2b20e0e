"""`jiayuan user …`: add, list, tokens, passwords, lockouts; audited as the operator; clear errors."""

from __future__ import annotations

import getpass
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.accounts import passwords
from jiayuan.accounts.models import AuditEntry, User
from jiayuan.accounts.schemas import LoginPolicy
from jiayuan.accounts.service import logins, tokens, users
from jiayuan.cli.main import app as cli
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal, Role
from tests.factories import add_device, build_tree


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_add_list_and_token(cli_env: None, sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        tree = build_tree(session)
    here, grid = f"community:{tree.community.id}", f"grid:{tree.grid.id}"
    missing = [
        "nobody",
        "--role",
        "grid",
        "--scope",
        here,
        "--scope",
        "grid:999999",
        "--password",
        "Zijing-grid-2026",
    ]
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
        assert tokens.principal_for_token(session, token).grid_ids == frozenset({tree.grid.id})
        actions = session.scalars(select(AuditEntry.action)).all()
    assert actions.count("user.create") == 2 and "token.issue" in actions


def test_an_account_made_with_a_grid_alone_belongs_to_the_grids_community(
    cli_env: None, sessions: sessionmaker[Session]
) -> None:
    """The README's `--scope grid:1` makes an account the community's secretary finds and manages."""
    with sessions() as session:
        tree = build_tree(session)
    code, out, _ = run("user", "add", "lijianwei", "--role", "grid", "--scope", f"grid:{tree.grid.id}",
                       "--password", "grid-pass-2026")  # fmt: skip
    assert code == 0, out
    secretary = Principal(role=Role.ADMIN, user_id=999, community_ids=frozenset({tree.community.id}))
    with sessions() as session:
        listed = users.list_users(session, actor=secretary, params=PageParams()).items
        assert [u.scopes for u in listed if u.username == "lijianwei"] == [
            [f"grid:{tree.grid.id}", f"community:{tree.community.id}"]
        ]
        far = frozenset({tree.other_community.id})
        elsewhere = Principal(role=Role.ADMIN, user_id=998, community_ids=far)
        theirs = users.list_users(session, actor=elsewhere, params=PageParams()).items
        assert "lijianwei" not in [u.username for u in theirs]


def test_device_token_and_unlock(cli_env: None, sessions: sessionmaker[Session]) -> None:
    code, _, err = run("user", "device-token", "jjhy-gate1-qr")
    assert code == 1 and "设备不存在" in err  # only a registered device gets a token
    with sessions() as session:
        add_device(session, None, "jjhy-gate1-qr", "qr", "1号门二维码")
        session.commit()
    code, out, _ = run("user", "device-token", "jjhy-gate1-qr")
    assert code == 0
    with sessions() as session:
        assert tokens.principal_for_token(session, out.strip()).device_id == "jjhy-gate1-qr"
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
    cli_env: None, sessions: sessionmaker[Session], args: list[str], message: str
) -> None:
    code, out, err = run(*args)
    assert code != 0
    assert message in out + err
    with sessions() as session:
        assert session.scalars(select(User)).all() == []


def audit_rows(sessions: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_cli_writes_are_audited_as_the_os_user(cli_env: None, sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        here = f"community:{build_tree(session).community.id}"
    code, out, err = run(
        "user", "add", "liuying", "--role", "staff", "--scope", here, "--password", "Staff-pass-2026"
    )
    assert code == 0, out + err
    [created] = audit_rows(sessions, "user.create")
    assert created.actor_name == f"os:{getpass.getuser()}" and created.actor_name != "system"
    code, out, err = run("user", "token", "liuying")
    assert code == 0 and "有效至" in err
    [issued] = audit_rows(sessions, "token.issue")
    assert issued.actor_name == f"os:{getpass.getuser()}"


def test_as_an_account_the_cli_acts_within_its_scope(cli_env: None, sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        tree = build_tree(session)
    here, there = f"community:{tree.community.id}", f"community:{tree.other_community.id}"
    run("user", "add", "boss", "--role", "admin", "--scope", here, "--password", "Boss-pass-2026")
    run("user", "add", "far", "--role", "staff", "--scope", there, "--password", "Far-pass-2026")
    code, out, err = run(
        "user",
        "add",
        "gw1",
        "--role",
        "grid",
        "--scope",
        here,
        "--password",
        "Grid-pass-2026",
        "--as",
        "boss",
    )
    assert code == 0, out + err
    created = [row for row in audit_rows(sessions, "user.create") if row.target_label == "gw1"]
    assert [(row.actor_name, row.actor_role) for row in created] == [("boss", "admin")]
    # Outside the account's scope: refused, nothing written.
    code, out, err = run(
        "user",
        "add",
        "gw2",
        "--role",
        "grid",
        "--scope",
        there,
        "--password",
        "Grid-pass-2026",
        "--as",
        "boss",
    )
    assert code == 1 and f"范围 {there} 不存在" in out + err
    code, out, err = run("user", "reset-password", "far", "--password", "Other-pass-2026", "--as", "boss")
    assert code == 1 and "用户不存在" in out + err
    code, out, err = run(
        "user", "add", "gw3", "--role", "grid", "--password", "Grid-pass-2026", "--as", "nobody"
    )
    assert code == 1 and "用户 nobody 不存在或已停用" in out + err
    with sessions() as session:
        assert set(session.scalars(select(User.username))) == {"boss", "far", "gw1"}


def test_passwords_and_lockouts_from_the_cli(cli_env: None, sessions: sessionmaker[Session]) -> None:
    run("user", "add", "liuying", "--role", "staff", "--password", "Staff-pass-2026")
    code, out, err = run("user", "passwd", "liuying", stdin="wrong-pass-1\nNew-pass-2026x\nNew-pass-2026x\n")
    assert code == 1 and "当前密码不正确" in out + err
    code, out, err = run("user", "passwd", "liuying", stdin="Staff-pass-2026\n12345678\n12345678\n")
    assert code == 1 and "密码太常见" in out + err
    code, out, err = run(
        "user", "passwd", "liuying", stdin="Staff-pass-2026\nNew-pass-2026x\nNew-pass-2026x\n"
    )
    assert code == 0, out + err
    [changed] = audit_rows(sessions, "user.password_change")
    assert changed.actor_name == "liuying"
    code, out, err = run("user", "reset-password", "liuying", "--password", "Reset-pass-2026")
    assert code == 0, out + err
    with sessions() as session:
        stored = session.scalars(select(User).where(User.username == "liuying")).one()
        assert stored.password_hash and passwords.verify_password(stored.password_hash, "Reset-pass-2026")

    policy = LoginPolicy(slowdown_after=100, lock_after=2, address_lock_after=3)
    for name in ("liuying", "liuying", "ghost"):
        with unit_of_work(sessions) as session:
            logins.authenticate(session, username=name, password="guess", policy=policy, ip="203.0.113.8")
    code, out, _ = run("user", "lockouts", "--json")
    locks = {(lock["kind"], lock["username"], lock["ip"]) for lock in json.loads(out)}
    assert locks == {("pair", "liuying", "203.0.113.8"), ("address", None, "203.0.113.8")}
    code, out, _ = run("user", "unlock", "--ip", "203.0.113.8")
    assert code == 0 and "已解除" in out
    code, out, _ = run("user", "unlock", "liuying")
    assert code == 0
    assert json.loads(run("user", "lockouts", "--json")[1]) == []
    code, out, err = run("user", "unlock", "--ip", "203.0.113.8")
    assert code == 1 and "没有登录锁定" in out + err
