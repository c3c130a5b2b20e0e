"""`jiayuan residents find`: the same search as the API, as the system or as a named user."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.cli.main import app as cli
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.service import residents
from tests.factories import Tree, make_id, make_user, person

BORN = date(1990, 3, 7)


@pytest.fixture
def people(db: Session, tree: Tree, vault: PiiVault) -> None:
    """刘莹 in 紫荆路社区, 李勇 in the other community."""
    system = Principal.system()
    residents.add_resident(
        db,
        actor=system,
        vault=vault,
        household_id=tree.h101.id,
        data=person("刘莹", BORN, 2, phone="13812345678"),
    )
    residents.add_resident(
        db, actor=system, vault=vault, household_id=tree.h_far.id, data=person("李勇", BORN, 3)
    )
    db.commit()


def test_find_json_as_the_system(cli_env: None, people: None) -> None:
    result = CliRunner().invoke(cli, ["residents", "find", "liuying", "--json"])
    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert [item["name"] for item in page["items"]] == ["刘莹"]
    assert page["items"][0]["phone_masked"] == "138****5678"
    assert make_id(BORN, 2) not in result.stdout and "13812345678" not in result.stdout
    both = json.loads(CliRunner().invoke(cli, ["residents", "find", "ly", "--json"]).stdout)
    assert both["total"] == 2


def test_find_table_and_scope_of_a_user(
    cli_env: None, people: None, tree: Tree, sessions: sessionmaker[Session]
) -> None:
    make_user(sessions, "far", Role.STAFF, scopes=[f"community:{tree.other_community.id}"])
    result = CliRunner().invoke(cli, ["residents", "find", "ly", "--as", "far"])
    assert result.exit_code == 0, result.output
    assert "李勇" in result.stdout and "刘莹" not in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [(["12"], "后 4 位"), (["ly", "--as", "nobody"], "不存在"), (["ly", "--page", "0"], "page")],
)
def test_find_bad_input_exits_non_zero(cli_env: None, people: None, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["residents", "find", *args])
    assert result.exit_code != 0
    assert message in result.output


def test_police_cannot_search(
    cli_env: None, people: None, tree: Tree, sessions: sessionmaker[Session]
) -> None:
    make_user(sessions, "police", Role.POLICE, scopes=[f"community:{tree.community.id}"])
    result = CliRunner().invoke(cli, ["residents", "find", "ly", "--as", "police"])
    assert result.exit_code == 1 and "无权" in result.output
