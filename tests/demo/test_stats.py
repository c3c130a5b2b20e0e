"""Counts per level: the service, `jiayuan stats --json`, and GET /api/v1/stats (login required, scoped)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiayuan.cli.main import app as cli
from jiayuan.demo.accounts import DEMO_ACCOUNTS
from jiayuan.kernel.errors import Forbidden
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import Building, Compound, Household, Resident, Vehicle
from jiayuan.registry.service.stats import registry_stats
from jiayuan.settings import get_settings
from tests.conftest import TEST_PII_KEY, make_test_settings

PASSWORDS = {a.username: a.password for a in DEMO_ACCOUNTS}


@pytest.fixture
def demo_env(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI pointed at the demo database."""
    monkeypatch.setenv("JIAYUAN_DATABASE_URL", demo_url)
    monkeypatch.setenv("JIAYUAN_PII_KEY", TEST_PII_KEY)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def demo_client(demo_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The web app on the demo database."""
    from jiayuan.web.app import create_app

    settings = make_test_settings(demo_url, tmp_path)
    with TestClient(create_app(settings)) as client:
        yield client


def _token(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORDS[username]})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_totals_match_the_tables(demo_db: Session) -> None:
    stats = registry_stats(demo_db, actor=Principal.system())
    count = demo_db.scalar
    assert stats.total.compounds == count(select(func.count()).select_from(Compound))
    assert stats.total.buildings == count(select(func.count()).select_from(Building))
    assert stats.total.households == count(select(func.count()).select_from(Household))
    assert stats.total.residents == count(select(func.count()).select_from(Resident))
    assert stats.total.vehicles == count(select(func.count()).select_from(Vehicle))


def test_scoped_counts(demo_db: Session) -> None:
    whole = registry_stats(demo_db, actor=Principal.system())
    main_id = next(c.id for c in whole.communities if c.name == "紫荆路社区")
    jjhy = demo_db.scalar(select(Compound.id).where(Compound.code == "jjhy"))
    assert jjhy is not None
    staff = registry_stats(demo_db, actor=Principal(role=Role.STAFF, community_ids=frozenset({main_id})))
    assert [c.name for c in staff.communities] == ["紫荆路社区"]
    assert staff.total.residents == whole.communities[0].residents
    assert staff.total.shops == 0
    wuye = registry_stats(demo_db, actor=Principal(role=Role.PROPERTY, compound_ids=frozenset({jjhy})))
    assert (wuye.total.compounds, wuye.total.buildings) == (1, 12)
    assert 0 < wuye.total.residents < staff.total.residents
    with pytest.raises(Forbidden):
        registry_stats(demo_db, actor=Principal(role=Role.DEVICE, device_id="jjhy-gate1-qr"))


def test_cli_stats_json(demo_env: None, demo_db: Session) -> None:
    result = CliRunner().invoke(cli, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == registry_stats(demo_db, actor=Principal.system()).model_dump(mode="json")
    main = printed["communities"][0]
    assert (main["name"], main["compounds"], main["buildings"]) == ("紫荆路社区", 5, 46)
    table = CliRunner().invoke(cli, ["stats", "--as", "grid01"])
    assert table.exit_code == 0 and "社区底数统计" in table.stdout


def test_cli_seed_twice_says_so(demo_env: None) -> None:
    result = CliRunner().invoke(cli, ["seed", "demo"])
    assert result.exit_code == 0, result.output
    assert "演示数据已存在，未做任何更改" in result.stdout
    assert "admin" in result.stdout and PASSWORDS["admin"] in result.stdout


def test_api_stats_needs_login_and_is_scoped(demo_client: TestClient) -> None:
    assert demo_client.get("/api/v1/stats").status_code == 401
    admin = demo_client.get("/api/v1/stats", headers=_token(demo_client, "admin")).json()
    assert [c["name"] for c in admin["communities"]] == ["紫荆路社区", "桐本南路社区"]
    assert admin["total"]["shops"] == 127 and admin["total"]["residents"] >= 7000
    grid = demo_client.get("/api/v1/stats", headers=_token(demo_client, "grid01")).json()
    assert grid["total"]["buildings"] == 6
    assert 0 < grid["total"]["residents"] < admin["total"]["residents"]
