"""Every console page answers a refusal with the one refusal page, never JSON, with the refusal's status."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.principal import Role
from jiayuan.web.areas import AREAS
from tests.accounts.helpers import login
from tests.factories import Tree, build_tree, make_user


@pytest.fixture
def tree(sessions: sessionmaker[Session]) -> Tree:
    with unit_of_work(sessions) as session:
        return build_tree(session)


def sign_in(client: TestClient, sessions: sessionmaker[Session], tree: Tree, role: Role) -> None:
    scope = f"grid:{tree.grid.id}" if role is Role.GRID else f"community:{tree.community.id}"
    make_user(sessions, "user", role, scopes=[scope])
    assert login(client, "user").status_code == 303


def refusal(client: TestClient, path: str, status: int, heading: str) -> None:
    response = client.get(path)
    assert response.status_code == status, (path, response.text[:200])
    assert response.headers["content-type"].startswith("text/html"), path
    assert f"<h1>{heading}</h1>" in response.text and "返回工作台" in response.text, path


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/console/residents", Role.POLICE),
        ("/console/flow", Role.RESIDENT),
        ("/console/visitors", Role.POLICE),
        ("/console/cameras", Role.RESIDENT),
        ("/console/cameras/no-such-camera", Role.RESIDENT),
        ("/console/devices", Role.GRID),
        ("/console/users", Role.STAFF),
        ("/console/audit", Role.STAFF),
        ("/docs", Role.GRID),
    ],
)
def test_a_role_without_the_area_gets_the_refusal_page(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree, path: str, role: Role
) -> None:
    sign_in(client, sessions, tree, role)
    refusal(client, path, 403, "无权访问")


def test_a_missing_object_gets_the_refusal_page_and_the_api_json(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    sign_in(client, sessions, tree, Role.STAFF)
    for path in (
        "/console/residents/424242",
        "/console/households/424242",
        "/console/cameras/no-such-camera",
    ):
        refusal(client, path, 404, "未找到")
    api = client.get("/api/v1/residents/424242")
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")
    assert api.json()["detail"]


@pytest.mark.parametrize("role", [r for r in Role if r not in (Role.SYSTEM, Role.DEVICE)])
def test_the_areas_a_role_is_shown_are_exactly_the_pages_it_may_open(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree, role: Role
) -> None:
    sign_in(client, sessions, tree, role)
    shown = set(re.findall(r'<a class="area" href="([^"]+)"', client.get("/console").text))
    for area in AREAS:
        status = client.get(area.href).status_code
        assert (status == 200) == (area.href in shown), (role, area.href, status)
