"""Console pages of the registry: live search, masked detail, reveal with reason, household."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import AuditEntry
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import Vehicle
from jiayuan.registry.service import residents
from tests.accounts.helpers import csrf_token, login
from tests.factories import Tree, build_tree, make_id, make_user, person

BORN = date(1990, 3, 7)
ID_NUMBER = make_id(BORN, 2)


@pytest.fixture
def tree(sessions: sessionmaker[Session], vault: PiiVault) -> Tree:
    """The small tree with 刘莹 (tagged 独居老人) in 锦江花园 101."""
    with unit_of_work(sessions) as session:
        built = build_tree(session)
        data = person("刘莹", BORN, 2, phone="13812345678", tags=["独居老人"])
        residents.add_resident(
            session, actor=Principal.system(), vault=vault, household_id=built.h101.id, data=data
        )
    return built


def sign_in(client: TestClient, sessions: sessionmaker[Session], tree: Tree, role: Role = Role.STAFF) -> None:
    scope = f"grid:{tree.grid.id}" if role is Role.GRID else f"community:{tree.community.id}"
    make_user(sessions, "user", role, scopes=[scope])
    assert login(client, "user").status_code == 303


def resident_id(client: TestClient) -> int:
    page = client.get("/console/residents", params={"q": "liuying"}, headers={"HX-Request": "true"})
    found = re.search(r'href="/console/residents/(\d+)"', page.text)
    assert found, page.text
    return int(found.group(1))


def test_anonymous_is_sent_to_login(client: TestClient, tree: Tree) -> None:
    response = client.get("/console/residents", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_search_page_and_live_partial(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    sign_in(client, sessions, tree)
    page = client.get("/console/residents")
    assert page.status_code == 200
    assert 'hx-get="/console/residents"' in page.text and "<html" in page.text
    assert "刘莹" in page.text and "独居老人" in page.text
    partial = client.get("/console/residents", params={"q": "ly"}, headers={"HX-Request": "true"})
    assert "<html" not in partial.text and "刘莹" in partial.text and "138****5678" in partial.text
    assert ID_NUMBER not in partial.text and "13812345678" not in partial.text
    bad = client.get("/console/residents", params={"q": "12"}, headers={"HX-Request": "true"})
    assert bad.status_code == 200 and "后 4 位" in bad.text
    none = client.get("/console/residents", params={"q": "zhangsan"}, headers={"HX-Request": "true"})
    assert "没有找到" in none.text


def test_detail_masks_and_reveals_with_reason(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    sign_in(client, sessions, tree)
    rid = resident_id(client)
    detail = client.get(f"/console/residents/{rid}")
    assert detail.status_code == 200
    assert ID_NUMBER[:4] + "*" * 10 + ID_NUMBER[-4:] in detail.text and ID_NUMBER not in detail.text
    assert "查看完整信息" in detail.text
    token = csrf_token(client)
    url = f"/console/residents/{rid}/reveal"
    refused = client.post(
        url, data={"field": "id_number", "reason": "看", "csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert "至少" in refused.text and ID_NUMBER not in refused.text
    shown = client.post(
        url,
        data={"field": "id_number", "reason": "核对高龄补贴身份", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert shown.status_code == 200 and ID_NUMBER in shown.text
    forged = client.post(url, data={"field": "phone", "reason": "核对高龄补贴身份", "csrf_token": "forged"})
    assert forged.status_code == 403 and "13812345678" not in forged.text
    with sessions() as session:
        reasons = session.scalars(select(AuditEntry.reason).where(AuditEntry.action == "pii.reveal")).all()
    assert reasons == ["核对高龄补贴身份"]


def test_grid_worker_has_no_reveal_form(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    sign_in(client, sessions, tree, Role.GRID)
    rid = resident_id(client)
    detail = client.get(f"/console/residents/{rid}")
    assert detail.status_code == 200 and "查看完整信息" not in detail.text
    token = csrf_token(client)
    response = client.post(
        f"/console/residents/{rid}/reveal",
        data={"field": "id_number", "reason": "核对身份信息", "csrf_token": token},
    )
    assert response.status_code == 403 and ID_NUMBER not in response.text


def test_police_page_is_forbidden(client: TestClient, sessions: sessionmaker[Session], tree: Tree) -> None:
    sign_in(client, sessions, tree, Role.POLICE)
    assert client.get("/console/residents").status_code == 403


def test_household_page(client: TestClient, sessions: sessionmaker[Session], tree: Tree) -> None:
    sign_in(client, sessions, tree)
    with sessions() as session:  # a colour as the cameras report it
        session.add(Vehicle(plate="豫A67890", color="blue", household_id=tree.h101.id))
        session.commit()
    page = client.get(f"/console/households/{tree.h101.id}")
    assert page.status_code == 200
    assert "刘莹" in page.text and "豫A12345" in page.text and "成员（1 人）" in page.text
    assert "蓝牌" in page.text and ">blue<" not in page.text
    assert client.get(f"/console/households/{tree.h_far.id}").status_code == 404
    assert client.get("/console/households/0").status_code == 422
    assert client.get("/console/residents/424242").status_code == 404
