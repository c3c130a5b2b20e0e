"""The phone's stream (/ws/v1/m): each case change the worker may see, read through the cases service;
a ring (`alert`) when a case is handed to them; nothing of another grid; no stream for other roles."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.bus.hub import hub
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.principal import Role
from tests.factories import Tree, add_grid, build_tree, make_user, token_for
from tests.web.test_stream_guards import _Reader

pytestmark = pytest.mark.usefixtures("real_commits")
WS = "/ws/v1/m"


@pytest.fixture
def tree(sessions: sessionmaker[Session]) -> Tree:
    with unit_of_work(sessions) as session:
        built = build_tree(session)
        add_grid(session, built.community.id, "第二网格", [built.b2])
    return built


def test_other_roles_have_no_phone_stream(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    for name, role in (("jumin", Role.RESIDENT), ("daping", Role.SCREEN), ("ma", Role.POLICE)):
        token = token_for(
            sessions, make_user(sessions, name, role, scopes=[f"community:{tree.community.id}"])
        )
        with client.websocket_connect(f"{WS}?token={token}") as ws:
            assert _Reader(ws).next(5) == {"type": "websocket.close", "code": 4403, "reason": "forbidden"}


def test_the_worker_hears_cases_handed_to_them_and_nothing_of_another_grid(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    worker_id = make_user(sessions, "wangwei", Role.GRID, scopes=[f"grid:{tree.grid.id}"])
    other_id = make_user(sessions, "lina", Role.GRID, scopes=[f"grid:{tree.grid.id + 1}"])
    staff_id = make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    staff = {"Authorization": f"Bearer {token_for(sessions, staff_id)}"}

    def hand(household_id: int, title: str, to: int) -> int:
        body = {"category": "repair", "title": title, "household_id": household_id}
        case_id: int = client.post("/api/v1/cases", json=body, headers=staff).json()["id"]
        client.post(f"/api/v1/cases/{case_id}/actions", json={"action": "accept"}, headers=staff)
        dispatch = {"action": "dispatch", "assignee_user_id": to}
        assert (
            client.post(f"/api/v1/cases/{case_id}/actions", json=dispatch, headers=staff).status_code == 200
        )
        return case_id

    with client.websocket_connect(f"{WS}?token={token_for(sessions, worker_id)}") as ws:
        reader = _Reader(ws)
        time.sleep(0.3)  # subscribed
        hand(tree.h201.id, "二号楼漏水", other_id)  # 森海一期: the other grid
        mine = hand(tree.h101.id, "楼道灯不亮", worker_id)
        # A change claimed for another community is not even read, though it names the worker's case.
        elsewhere = {"event": "cases.changed", "case_id": mine, "state": "dispatched", "action": "dispatch"}
        hub.publish([elsewhere | {"community_id": tree.other_community.id, "level": 0}])
        heard = []
        while (message := reader.next(3)) is not None:
            heard.append(json.loads(message["text"]))
    assert {m["case"]["id"] for m in heard} == {mine}
    assert "二号楼漏水" not in json.dumps(heard, ensure_ascii=False)
    # A ring for the step that handed it over (and one when it was new in the grid with nobody on it,
    # if it was read before the office took it); the 受理 between only updates the list.
    assert len(heard) == 3 and heard[1]["alert"] is False and heard[2]["alert"] is True
    assert heard[-1]["case"]["mine"] and [a["verb"] for a in heard[-1]["case"]["actions"]] == ["arrive"]


def test_a_stream_opened_from_an_english_page_pushes_english_labels(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    """A case that arrives live reads as the page it lands on: the socket's `lang` cookie holds for
    every push, as it does for the page and its state."""
    worker_id = make_user(sessions, "wangwei", Role.GRID, scopes=[f"grid:{tree.grid.id}"])
    staff_id = make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    staff = {"Authorization": f"Bearer {token_for(sessions, staff_id)}"}
    client.cookies.set("lang", "en")
    with client.websocket_connect(f"{WS}?token={token_for(sessions, worker_id)}") as ws:
        reader = _Reader(ws)
        time.sleep(0.3)  # subscribed
        body = {"category": "repair", "title": "楼道灯不亮", "household_id": tree.h101.id}
        case_id = client.post("/api/v1/cases", json=body, headers=staff).json()["id"]
        client.post(f"/api/v1/cases/{case_id}/actions", json={"action": "accept"}, headers=staff)
        dispatch = {"action": "dispatch", "assignee_user_id": worker_id}
        client.post(f"/api/v1/cases/{case_id}/actions", json=dispatch, headers=staff)
        heard = []
        while (message := reader.next(3)) is not None:
            heard.append(json.loads(message["text"]))
    last = heard[-1]["case"]
    assert last["source_label"] == "Reported by staff"
    assert [a["label"] for a in last["actions"]] == ["On site"]
    assert last["title"] == "楼道灯不亮"  # data stays as it is
