"""Bearer tokens over HTTP: issue, use, list, revoke; device tokens."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import AuditEntry
from jiayuan.kernel.principal import Role
from tests.factories import add_gate, build_tree, device_token, make_user, token_for


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_issue_use_and_revoke_a_token(client: TestClient, sessions: sessionmaker[Session]) -> None:
    me = bearer(token_for(sessions, make_user(sessions, "staff1", Role.STAFF, scopes=["community:1"])))
    issued = client.post("/api/v1/tokens", json={"name": "报表脚本"}, headers=me)
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    assert token.startswith("jy_")
    assert client.get("/api/v1/auth/me", headers=bearer(token)).json()["username"] == "staff1"
    listed = client.get("/api/v1/tokens", headers=me).json()
    assert {t["name"] for t in listed} == {"测试", "报表脚本"}
    assert all("token" not in t and "token_hash" not in t for t in listed)
    revoked = client.delete(f"/api/v1/tokens/{issued.json()['id']}", headers=me)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    refused = client.get("/api/v1/auth/me", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "令牌已被吊销"
    assert client.delete("/api/v1/tokens/999999", headers=me).status_code == 404
    assert client.delete("/api/v1/tokens/not-a-number", headers=me).status_code == 422
    with sessions() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert actions.count("token.issue") == 2 and actions.count("token.revoke") == 1


def test_admin_issues_device_tokens_that_act_as_the_device(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    admin = bearer(token_for(sessions, make_user(sessions, "boss", Role.ADMIN)))
    staff = bearer(token_for(sessions, make_user(sessions, "staff1", Role.STAFF)))
    body = {"name": "1号门二维码", "device_id": "jjhy-gate1-qr"}
    unregistered = client.post("/api/v1/tokens", json=body, headers=admin)
    assert unregistered.status_code == 404 and unregistered.json()["field"] == "device_id"
    with sessions() as session:
        jinjiang = build_tree(session).jinjiang
        add_gate(session, jinjiang, "JJHY-1", "锦江花园1号门", [("jjhy-gate1-qr", "qr", "1号门二维码")])
        session.commit()
    assert client.post("/api/v1/tokens", json=body, headers=staff).status_code == 403
    issued = client.post("/api/v1/tokens", json=body, headers=admin)
    assert issued.status_code == 201
    device = bearer(issued.json()["token"])
    me = client.get("/api/v1/auth/me", headers=device).json()
    assert (me["role"], me["device_id"], me["user_id"]) == ("device", "jjhy-gate1-qr", None)
    assert client.get("/api/v1/users", headers=device).status_code == 403
    assert client.get("/api/v1/tokens", headers=device).status_code == 403
    assert client.post("/api/v1/tokens", json={"name": "x"}, headers=device).status_code == 403


def test_bad_token_requests_name_the_field(client: TestClient, sessions: sessionmaker[Session]) -> None:
    admin = bearer(token_for(sessions, make_user(sessions, "boss", Role.ADMIN)))
    cases = [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "device_id": "has space"}, "device_id"),
        ({"name": "x", "user_id": 0}, "user_id"),
        ({"name": "x", "user_id": 1, "device_id": "d1"}, "user_id"),
        ({"name": "x", "extra": 1}, "extra"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/tokens", json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
        assert field in response.text
    assert (
        client.post("/api/v1/tokens", json={"name": "x", "user_id": 424242}, headers=admin).status_code == 404
    )


def test_device_token_helper_for_gate_devices(client: TestClient, sessions: sessionmaker[Session]) -> None:
    token = device_token(sessions, "jjhy-gate1-plate")
    assert client.get("/api/v1/auth/me", headers=bearer(token)).json()["device_id"] == "jjhy-gate1-plate"
