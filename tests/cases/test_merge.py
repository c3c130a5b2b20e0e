"""Duplicate reports: the office merges them into one case, and every reporter follows that case."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.kernel.principal import Role
from tests.accounts.helpers import csrf_token, login
from tests.factories import Tree, bearer_for, make_user, token_for


def report(client: TestClient, headers: dict[str, str], title: str, **extra: object) -> dict[str, object]:
    made = client.post("/api/v1/cases", json={"category": "repair", "title": title, **extra}, headers=headers)
    assert made.status_code == 201, made.text
    body: dict[str, object] = made.json()
    return body


def test_reporters_of_duplicates_follow_the_case_they_were_merged_into(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    first = bearer_for(sessions, "liuying", Role.RESIDENT, f"household:{tree.h101.id}")
    second = bearer_for(sessions, "wangfang", Role.RESIDENT, f"household:{tree.h102.id}")
    staff_id = make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    staff = {"Authorization": f"Bearer {token_for(sessions, staff_id)}"}
    kept = report(client, first, "1单元楼道灯不亮")
    duplicate = report(client, second, "楼道里的灯坏了")
    # Before the merge the second resident cannot see the first one's case.
    assert client.get(f"/api/v1/cases/{kept['id']}", headers=second).status_code == 404

    merged = client.post(
        f"/api/v1/cases/{duplicate['id']}/merge", json={"into_case_id": kept["id"]}, headers=staff
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["steps"][-1]["note"] == f"并入重复上报 #{duplicate['id']}"
    closed = client.get(f"/api/v1/cases/{duplicate['id']}", headers=second).json()
    assert (closed["state"], closed["merged_into_id"], closed["allowed"]) == ("closed", kept["id"], [])

    # The second reporter now follows the kept case: listed, readable, never told who reported it.
    followed = client.get(f"/api/v1/cases/{kept['id']}", headers=second)
    assert followed.status_code == 200 and followed.json()["reporter_name"] is None
    # ... and how far it has got, not what another household wrote, where it is or its photos.
    shown = followed.json()
    assert (shown["title"], shown["description"], shown["place"], shown["household_id"]) == (
        "设施报修（与您的上报合并办理）",
        "",
        "",
        None,
    )
    assert all(step["note"] == "" for step in shown["steps"])
    listed = client.get("/api/v1/cases", headers=second).json()
    assert {c["id"] for c in listed["items"]} == {kept["id"], duplicate["id"]}
    assert client.get(f"/api/v1/cases/{duplicate['id']}", headers=first).status_code == 404

    # The loop goes on on the kept case; both reporters may reopen it after it closes.
    for action in ("accept", "dispatch", "arrive", "handle"):
        body = {"action": action} | ({"assignee_user_id": staff_id} if action == "dispatch" else {})
        assert client.post(f"/api/v1/cases/{kept['id']}/actions", json=body, headers=staff).status_code == 200
    verifier = bearer_for(sessions, "chenjing", Role.STAFF, f"community:{tree.community.id}")
    for action in ("verify", "close"):
        assert (
            client.post(
                f"/api/v1/cases/{kept['id']}/actions", json={"action": action}, headers=verifier
            ).status_code
            == 200
        )
    reopened = client.post(f"/api/v1/cases/{kept['id']}/actions", json={"action": "reopen"}, headers=second)
    assert reopened.status_code == 200 and reopened.json()["state"] == "accepted"
    # The duplicate itself stays closed: it is followed where it was merged.
    again = client.post(f"/api/v1/cases/{duplicate['id']}/actions", json={"action": "reopen"}, headers=second)
    assert again.status_code == 409 and f"已并入 #{kept['id']}" in again.json()["detail"]


def test_what_cannot_be_merged_is_refused_by_name(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    staff = bearer_for(sessions, "zhoumin", Role.STAFF, f"community:{tree.community.id}")
    grid = bearer_for(sessions, "sunli", Role.GRID, f"grid:{tree.grid.id}")
    far_staff = bearer_for(sessions, "qianli", Role.STAFF, f"community:{tree.other_community.id}")
    one = report(client, staff, "井盖松动", household_id=tree.h101.id)
    two = report(client, staff, "井盖又松了", household_id=tree.h102.id)
    far = report(client, far_staff, "远方小区的灯", household_id=tree.h_far.id)

    def merge(case: object, into: object, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
        answer = client.post(f"/api/v1/cases/{case}/merge", json={"into_case_id": into}, headers=headers)
        return answer.status_code, answer.json()

    assert merge(one["id"], one["id"], staff) == (422, {"detail": "不能并入自身", "field": "into_case_id"})
    assert merge(one["id"], far["id"], staff) == (
        404,
        {"detail": f"事件 #{far['id']} 不存在", "field": "into_case_id"},
    )
    assert merge(one["id"], 424242, staff) == (
        404,
        {"detail": "事件 #424242 不存在", "field": "into_case_id"},
    )
    assert merge(one["id"], two["id"], grid)[0] == 403
    assert merge(one["id"], two["id"], staff)[0] == 200
    status, body = merge(two["id"], one["id"], staff)
    assert status == 409 and body["field"] == "into_case_id" and "已结案" in str(body["detail"])
    assert merge(one["id"], two["id"], staff) == (
        409,
        {"detail": "事件已结案，不能再合并", "field": "action"},
    )
    bad = client.post(f"/api/v1/cases/{two['id']}/merge", json={"into_case_id": "x"}, headers=staff)
    assert bad.status_code == 422


def test_the_console_merges_a_duplicate(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    assert login(client, "zhoumin").status_code == 303
    token = csrf_token(client)
    headers = {"X-CSRF-Token": token}
    one = report(client, headers, "井盖松动", household_id=tree.h101.id)
    two = report(client, headers, "井盖又松了", household_id=tree.h102.id)
    page = client.get(f"/console/cases/{two['id']}").text
    assert 'id="case-merge"' in page
    refused = client.post(
        f"/console/cases/{two['id']}/merge", data={"into_case_id": "abc", "csrf_token": token}
    )
    assert refused.status_code == 422 and "请填写要并入的事件编号" in refused.text
    done = client.post(
        f"/console/cases/{two['id']}/merge",
        data={"into_case_id": f"#{one['id']}", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].startswith(f"/console/cases/{one['id']}?")
    assert f'已并入 <a href="/console/cases/{one["id"]}">' in client.get(f"/console/cases/{two['id']}").text
