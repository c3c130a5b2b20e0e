"""A person's own mobile: set by them or an admin who manages them, kept encrypted, shown masked."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.accounts.models import AuditEntry, User
from jiayuan.accounts.service import users
from jiayuan.cli.main import app as cli
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Role
from tests.factories import Tree, build_tree, make_user, token_for


@pytest.fixture
def tree(db: Session) -> Tree:
    built = build_tree(db)
    db.commit()
    return built


def bearer(sessions: sessionmaker[Session], user_id: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(sessions, user_id)}"}


def test_a_mobile_is_kept_encrypted_and_shown_masked(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree, vault: PiiVault
) -> None:
    worker = make_user(
        sessions, "sunli", Role.GRID, scopes=[f"grid:{tree.grid.id}", f"community:{tree.community.id}"]
    )
    admin = make_user(sessions, "sunshuji", Role.ADMIN, scopes=[f"community:{tree.community.id}"])
    far_admin = make_user(sessions, "qian", Role.ADMIN, scopes=[f"community:{tree.other_community.id}"])
    neighbour = make_user(sessions, "zhou", Role.GRID, scopes=[f"grid:{tree.grid.id}"])

    own = client.put(
        f"/api/v1/users/{worker}/mobile",
        json={"mobile": "+86 139-0000-1111"},
        headers=bearer(sessions, worker),
    )
    assert own.status_code == 200 and own.json()["mobile_masked"] == "139****1111"
    with sessions() as session:
        stored = session.scalar(select(User.mobile_cipher).where(User.id == worker))
        assert stored and "1111" not in stored
        assert users.mobile_of(session, worker, vault=vault) == "13900001111"
        audit = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "user.mobile")).all()
        assert audit == [{"mobile": "139****1111"}]

    by_admin = client.put(
        f"/api/v1/users/{worker}/mobile", json={"mobile": "13712345678"}, headers=bearer(sessions, admin)
    )
    assert by_admin.json()["mobile_masked"] == "137****5678"
    assert (
        client.get(f"/api/v1/users/{worker}", headers=bearer(sessions, admin)).json()["mobile_masked"]
        == "137****5678"
    )
    # Neither another community's admin nor a colleague may set it; both read it as missing or refused.
    for stranger, status in ((far_admin, 404), (neighbour, 403)):
        answer = client.put(
            f"/api/v1/users/{worker}/mobile",
            json={"mobile": "13800000000"},
            headers=bearer(sessions, stranger),
        )
        assert answer.status_code == status, answer.text
    cleared = client.put(
        f"/api/v1/users/{worker}/mobile", json={"mobile": ""}, headers=bearer(sessions, worker)
    )
    assert cleared.json()["mobile_masked"] == ""
    with sessions() as session:
        assert users.mobile_of(session, worker, vault=vault) is None


@pytest.mark.parametrize("typed", ["12345678901", "1390000111", "010-12345678", "abc", "139000011112"])
def test_what_is_not_a_mobile_is_refused_by_name(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree, typed: str
) -> None:
    worker = make_user(sessions, "sunli", Role.GRID, scopes=[f"grid:{tree.grid.id}"])
    answer = client.put(
        f"/api/v1/users/{worker}/mobile", json={"mobile": typed}, headers=bearer(sessions, worker)
    )
    assert answer.status_code == 422 and answer.json()["field"] == "mobile"
    assert "手机号应为 11 位" in answer.json()["detail"]


def test_the_cli_sets_a_mobile(cli_env: None, sessions: sessionmaker[Session], tree: Tree) -> None:
    make_user(sessions, "sunli", Role.GRID, scopes=[f"grid:{tree.grid.id}", f"community:{tree.community.id}"])
    done = CliRunner().invoke(cli, ["user", "mobile", "sunli", "13900001111"])
    assert done.exit_code == 0 and "sunli 的手机号：139****1111" in done.output, done.output
    bad = CliRunner().invoke(cli, ["user", "mobile", "sunli", "123"])
    assert bad.exit_code != 0 and "手机号应为 11 位" in bad.output
