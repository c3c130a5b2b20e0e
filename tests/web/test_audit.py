"""The audit log over HTTP: every write leaves a row; admins search, page, export; the console page."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import AuditEntry, User
from jiayuan.accounts.service import audit, users
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.principal import Principal, Role
from tests.accounts.helpers import csrf_token, login
from tests.factories import build_tree, make_user, token_for


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def rows(sessions: sessionmaker[Session]) -> list[AuditEntry]:
    with sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_every_account_write_over_http_leaves_an_audit_row(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    with sessions() as db:
        tree = build_tree(db)
    here = tree.community.id
    make_user(sessions, "boss", Role.ADMIN, scopes=[f"community:{here}"])
    login(client, "boss", "not-it")
    login(client, "boss")
    headers = {"X-CSRF-Token": csrf_token(client)}
    created = client.post(
        "/api/v1/users",
        json={
            "username": "gw1",
            "role": "grid",
            "password": "long-enough-1",
            "scopes": [f"community:{here}", f"grid:{tree.grid.id}"],
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    issued = client.post("/api/v1/tokens", json={"name": "网格员令牌", "user_id": user_id}, headers=headers)
    assert issued.status_code == 201
    client.delete(f"/api/v1/tokens/{issued.json()['id']}", headers=headers)
    client.post(f"/api/v1/users/{user_id}/unlock", headers=headers)
    client.post(f"/api/v1/users/{user_id}/deactivate", json={"reason": "离职"}, headers=headers)
    client.post("/logout", data={"csrf_token": headers["X-CSRF-Token"]})
    entries = rows(sessions)
    assert [e.action for e in entries] == [
        "user.create",  # boss, by the system
        "login.failed",
        "login.success",
        "user.create",
        "token.issue",
        "token.revoke",
        "user.unlock",
        "user.deactivate",
        "logout",
    ]
    for entry in entries[3:]:
        assert (entry.actor_name, entry.actor_role, entry.community_id) == ("boss", "admin", here)
    assert entries[3].target_label == "gw1" and entries[3].target_id == str(user_id)
    assert entries[7].reason == "离职"
    assert entries[2].ip == "testclient"


def test_a_failed_write_leaves_no_audit_row(client: TestClient, sessions: sessionmaker[Session]) -> None:
    admin = bearer(token_for(sessions, make_user(sessions, "boss", Role.ADMIN)))
    before = len(rows(sessions))
    for body in (
        {"username": "boss", "role": "staff"},
        {"username": "x y", "role": "staff"},
        {"role": "staff"},
    ):
        assert client.post("/api/v1/users", json=body, headers=admin).status_code in (409, 422)
    assert len(rows(sessions)) == before


def seed_audit(sessions: sessionmaker[Session]) -> None:
    actor = Principal(role=Role.STAFF, user_id=77, username="wangfang", community_ids=frozenset({1}))
    with unit_of_work(sessions) as session:
        for n in range(60):
            audit.record_audit(
                session,
                actor=actor,
                action="resident.reveal",
                target_type="resident",
                target_id=n,
                target_label=f"居民{n}",
                reason="核实",
                detail={"field": "id_number"},
            )
        audit.record_audit(
            session,
            actor=actor,
            action="resident.update",
            target_type="resident",
            target_id=5,
            target_label='=HYPERLINK("http://x")',
        )


def test_admins_search_the_audit_log_others_cannot(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    seed_audit(sessions)
    admin = bearer(token_for(sessions, make_user(sessions, "boss", Role.ADMIN, scopes=["community:1"])))
    other_admin = bearer(
        token_for(sessions, make_user(sessions, "boss2", Role.ADMIN, scopes=["community:2"]))
    )
    staff = bearer(token_for(sessions, make_user(sessions, "wangfang", Role.STAFF, scopes=["community:1"])))
    page = client.get(
        "/api/v1/audit", params={"action": "resident.reveal", "page": 2, "size": 25}, headers=admin
    )
    assert page.status_code == 200
    body = page.json()
    assert (body["total"], body["page"], len(body["items"])) == (60, 2, 25)
    assert body["items"][0]["target_label"] == "居民34"
    found = client.get("/api/v1/audit", params={"actor": "wang", "target": "居民7"}, headers=admin).json()
    assert [i["target_id"] for i in found["items"]] == ["7"]
    assert (
        client.get("/api/v1/audit", params={"action": "resident"}, headers=other_admin).json()["total"] == 0
    )
    assert client.get("/api/v1/audit", headers=staff).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401
    for bad in (
        {"since": "yesterday"},
        {"until": "2026-13-40"},
        {"page": 0},
        {"size": 1000},
        {"actor": "x" * 100},
    ):
        response = client.get("/api/v1/audit", params=bad, headers=admin)
        assert response.status_code == 422, bad
        assert next(iter(bad)) in response.json()["detail"]


def test_export_is_an_excel_file_with_chinese_headers(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    seed_audit(sessions)
    admin = bearer(token_for(sessions, make_user(sessions, "boss", Role.ADMIN, scopes=["community:1"])))
    response = client.get("/api/v1/audit/export.xlsx", params={"action": "resident"}, headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response.headers["content-disposition"]
    sheet = (
        CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_name("审计日志").to_python()
    )
    assert sheet[0][:4] == ["时间（北京时间）", "操作人", "角色", "操作"]
    assert len(sheet) == 62
    assert sheet[1][1:6] == ["wangfang", "社区工作人员", "修改居民信息", "resident.update", "居民"]
    # Stored text stays text: nothing becomes a formula.
    assert sheet[1][7] == '=HYPERLINK("http://x")'
    assert rows(sessions)[-1].action == "audit.export"
    staff = bearer(token_for(sessions, make_user(sessions, "wangfang", Role.STAFF, scopes=["community:1"])))
    assert client.get("/api/v1/audit/export.xlsx", headers=staff).status_code == 403


def test_console_audit_page_filters_with_htmx_and_offers_export(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    seed_audit(sessions)
    make_user(sessions, "boss", Role.ADMIN, scopes=["community:1"])
    login(client, "boss")
    page = client.get("/console/audit", params={"target": "居民12"})
    assert page.status_code == 200
    assert "审计日志" in page.text and "<html" in page.text
    assert "居民12" in page.text and "居民13" not in page.text
    assert 'href="/api/v1/audit/export.xlsx?target=%E5%B1%85%E6%B0%9112"' in page.text
    partial = client.get(
        "/console/audit", params={"action": "resident.update"}, headers={"HX-Request": "true"}
    )
    assert "<html" not in partial.text
    assert "居民 #" in partial.text and "resident #" not in partial.text  # what the row is about, in Chinese
    # Stored values are escaped, never markup.
    assert (
        "=HYPERLINK(&#34;http://x&#34;)" in partial.text or "=HYPERLINK(&quot;http://x&quot;)" in partial.text
    )
    second = client.get("/console/audit", params={"page": 2})
    assert "2 / " in second.text


def test_console_audit_is_for_admins_only(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "wangfang", Role.STAFF, scopes=["community:1"])
    login(client, "wangfang")
    response = client.get("/console/audit")
    assert response.status_code == 403
    assert "只有管理员可以查看审计日志" in response.text
    assert client.get("/console/users").status_code == 403
    home = client.get("/console")
    assert home.status_code == 200
    assert "/console/residents" in home.text and 'href="/console/audit"' not in home.text.split("<main")[1]


def test_the_audit_filter_takes_the_chinese_names_it_shows(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    admin_id = make_user(sessions, "boss", Role.ADMIN, scopes=["community:1"])
    with unit_of_work(sessions) as session:
        actor = users.principal_of(session.get(User, admin_id))  # type: ignore[arg-type]
        for action in ("token.revoke", "pass.revoke", "user.create", "case.accept", "case.close"):
            audit.record_audit(session, actor=actor, action=action, target_type="x", community_id=1)
    admin = bearer(token_for(sessions, admin_id))

    def actions(text: str) -> list[str]:
        found = client.get("/api/v1/audit", params={"action": text, "size": 100}, headers=admin).json()
        return sorted({item["action"] for item in found["items"]} - {"token.issue"})

    assert actions("吊销") == ["pass.revoke", "token.revoke"]
    assert actions("受理事件") == ["case.accept"]
    assert actions("case.") == ["case.accept", "case.close"]  # the codes still work
    assert actions("无此操作") == []
