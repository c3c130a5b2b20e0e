"""The case board: filters over the API, the console and the CLI, and whom a case may be dispatched to."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.cases.models import Case
from jiayuan.cli.main import app as cli
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Role
from tests.accounts.helpers import csrf_token, login
from tests.factories import Tree, make_user, token_for


def test_the_board_narrows_by_every_filter(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    staff_id = make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    grid_id = make_user(sessions, "sunli", Role.GRID, scopes=[f"grid:{tree.grid.id}"])
    staff = {"Authorization": f"Bearer {token_for(sessions, staff_id)}"}
    made = {}
    for title, category, household in (
        ("楼道灯不亮", "repair", tree.h101.id),
        ("深夜装修_100%", "noise", tree.h102.id),
        ("森海井盖松动", "safety", tree.h201.id),
    ):
        body = {"category": category, "title": title, "household_id": household}
        made[title] = client.post("/api/v1/cases", json=body, headers=staff).json()["id"]
    client.post(f"/api/v1/cases/{made['楼道灯不亮']}/actions", json={"action": "accept"}, headers=staff)
    client.post(
        f"/api/v1/cases/{made['楼道灯不亮']}/actions",
        json={"action": "dispatch", "assignee_user_id": grid_id},
        headers=staff,
    )
    with sessions() as session:
        session.execute(update(Case).where(Case.id == made["森海井盖松动"]).values(due_at=utcnow()))
        session.commit()

    def ids(**query: object) -> set[int]:
        answer = client.get("/api/v1/cases", params=query, headers=staff)
        assert answer.status_code == 200, answer.text
        return {c["id"] for c in answer.json()["items"]}

    assert ids() == set(made.values())
    assert ids(category="noise") == {made["深夜装修_100%"]}
    assert ids(grid_id=tree.grid.id) == {made["楼道灯不亮"], made["深夜装修_100%"]}
    assert ids(overdue=True) == {made["森海井盖松动"]}
    assert ids(state="dispatched") == {made["楼道灯不亮"]}
    assert ids(text="_100%") == {made["深夜装修_100%"]}  # LIKE wildcards are taken literally
    assert ids(text="%") == {made["深夜装修_100%"]}
    assert ids(mine=True) == set()
    grid = {"Authorization": f"Bearer {token_for(sessions, grid_id)}"}
    mine = client.get("/api/v1/cases", params={"mine": True}, headers=grid).json()
    assert [c["id"] for c in mine["items"]] == [made["楼道灯不亮"]] and mine["items"][0][
        "assignee_name"
    ] == "sunli"
    bad = client.get("/api/v1/cases", params={"category": "ufo"}, headers=staff)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "category"

    # The console: the same filters from a form, a filter that cannot be read said in Chinese.
    make_user(sessions, "chenjing", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    assert login(client, "chenjing").status_code == 303
    page = client.get("/console/cases", params={"category": "safety", "overdue": "true", "grid_id": ""})
    assert page.status_code == 200 and "森海井盖松动" in page.text and "楼道灯不亮" not in page.text
    assert "共 1 件" in page.text
    unreadable = client.get("/console/cases", params={"category": "ufo", "grid_id": "abc"})
    assert unreadable.status_code == 200 and "筛选条件有误：类别、网格" in unreadable.text
    assert "楼道灯不亮" in unreadable.text


def test_the_dispatch_choice_names_the_people_of_the_case_s_community(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    worker = make_user(sessions, "sunli", Role.GRID, scopes=[f"grid:{tree.grid.id}"])
    far = make_user(sessions, "qianli", Role.STAFF, scopes=[f"community:{tree.other_community.id}"])
    make_user(sessions, "liuying", Role.RESIDENT, scopes=[f"household:{tree.h101.id}"])
    assert login(client, "zhoumin").status_code == 303
    token = csrf_token(client)
    case = client.post(
        "/api/v1/cases",
        json={"category": "repair", "title": "路灯不亮", "household_id": tree.h101.id},
        headers={"X-CSRF-Token": token},
    ).json()
    client.post(f"/console/cases/{case['id']}/actions", data={"action": "accept", "csrf_token": token})
    page = client.get(f"/console/cases/{case['id']}").text
    offered = dict(re.findall(r'<option value="(\d+)">([^<]+)</option>', page))
    assert offered[str(worker)] == "sunli（网格员）"
    assert str(far) not in offered and "liuying" not in page
    done = client.post(
        f"/console/cases/{case['id']}/actions",
        data={"action": "dispatch", "assignee_user_id": str(worker), "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "sunli" in client.get(f"/console/cases/{case['id']}").text


def test_the_cli_lists_with_the_same_filters(
    cli_env: None, client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    staff_id = make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    staff = {"Authorization": f"Bearer {token_for(sessions, staff_id)}"}
    for category, title in (("noise", "夜间施工"), ("repair", "门禁坏了")):
        body = {"category": category, "title": title, "household_id": tree.h101.id}
        assert client.post("/api/v1/cases", json=body, headers=staff).status_code == 201
    listed = CliRunner().invoke(
        cli, ["cases", "list", "--json", "--category", "noise", "--open", "--as", "zhoumin"]
    )
    assert listed.exit_code == 0, listed.output
    assert [c["title"] for c in json.loads(listed.stdout)["items"]] == ["夜间施工"]
    mine = CliRunner().invoke(cli, ["cases", "list", "--json", "--mine", "--as", "zhoumin"])
    assert json.loads(mine.stdout)["total"] == 0


def test_a_large_board_counts_up_to_its_cap_and_says_so(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jiayuan.cases.service import reads

    monkeypatch.setattr(reads, "BOARD_COUNT_CAP", 2)
    make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    assert login(client, "zhoumin").status_code == 303
    headers = {"X-CSRF-Token": csrf_token(client)}
    for title in ("一号", "二号", "三号"):
        body = {"category": "repair", "title": title, "household_id": tree.h101.id}
        assert client.post("/api/v1/cases", json=body, headers=headers).status_code == 201
    answer = client.get("/api/v1/cases", params={"size": 1})
    assert answer.status_code == 200, answer.text
    listed = answer.json()
    assert (listed["total"], listed["total_exact"], len(listed["items"])) == (2, False, 1)
    assert (
        client.get("/api/v1/cases", params={"category": "repair", "text": "一"}).json()["total_exact"] is True
    )
    page = client.get("/console/cases").text
    assert "超过 2 件（只计数到 2；请用类别、网格、状态或关键词缩小范围）" in page
