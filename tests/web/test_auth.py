"""Signing in and out over HTTP: sessions, CSRF, bearer tokens, 401 versus 403."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import AuditEntry, LoginSession
from jiayuan.kernel.principal import Role
from tests.accounts.helpers import csrf_token, login
from tests.factories import PASSWORD, make_user, token_for


def test_login_sets_a_hardened_session_cookie_and_opens_the_console(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    make_user(sessions, "wangfang", Role.STAFF, scopes=["community:1"])
    response = login(client, "wangfang", next_url="/console/audit")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/audit"
    cookie = response.headers["set-cookie"]
    assert "jiayuan_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie
    home = client.get("/console")
    assert home.status_code == 200
    assert "wangfang" in home.text
    me = client.get("/api/v1/auth/me").json()
    assert me["username"] == "wangfang"
    assert me["role"] == "staff"
    assert me["community_ids"] == [1]
    with sessions() as session:
        stored = session.scalars(select(LoginSession)).one()
        # Only a hash of the cookie value is kept.
        assert stored.token_hash not in cookie
        assert client.cookies["jiayuan_session"] not in stored.token_hash


def test_wrong_password_is_refused_in_chinese_and_audited(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    make_user(sessions, "lisi", Role.GRID, scopes=["community:1", "grid:2"])
    response = login(client, "lisi", "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert "jiayuan_session" not in response.headers.get("set-cookie", "")
    assert client.get("/api/v1/auth/me").status_code == 401
    with sessions() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "login.failed" in actions


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client: TestClient) -> None:
    response = login(client, "nobody", "whatever-123")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text


def test_login_form_without_its_csrf_cookie_is_refused(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    make_user(sessions, "zhao", Role.STAFF)
    response = client.post(
        "/login",
        data={"username": "zhao", "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "jiayuan_session" not in response.headers.get("set-cookie", "")


def test_next_never_leaves_the_site(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "qian", Role.STAFF)
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        client.cookies.clear()
        response = login(client, "qian", next_url=target)
        assert response.headers["location"] == "/console"


def test_pages_redirect_anonymous_visitors_to_login(client: TestClient) -> None:
    response = client.get("/console/audit?actor=a", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fconsole%2Faudit%3Factor%3Da"
    page = client.get("/login")
    assert page.status_code == 200
    assert "登录" in page.text


def test_logout_ends_the_session(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "sun", Role.STAFF)
    login(client, "sun")
    token = csrf_token(client)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/api/v1/auth/me").status_code == 401
    with sessions() as session:
        assert session.scalars(select(LoginSession)).all() == []


def test_cookie_write_without_csrf_token_is_403(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "boss", Role.ADMIN)
    login(client, "boss")
    body = {"username": "newbie", "role": "staff", "password": "long-enough-1"}
    refused = client.post("/api/v1/users", json=body)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    wrong = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": "not-the-token"})
    assert wrong.status_code == 403
    logout_without = client.post("/logout", follow_redirects=False)
    assert logout_without.status_code == 403
    accepted = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": csrf_token(client)})
    assert accepted.status_code == 201, accepted.text


def test_bearer_requests_need_no_csrf_token(client: TestClient, sessions: sessionmaker[Session]) -> None:
    admin = make_user(sessions, "boss", Role.ADMIN)
    token = token_for(sessions, admin)
    response = client.post(
        "/api/v1/users",
        json={"username": "newbie", "role": "volunteer", "password": "long-enough-1"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text


def test_token_endpoint_exchanges_a_password_for_a_bearer_token(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    make_user(sessions, "zhou", Role.POLICE, scopes=["community:1"])
    response = client.post("/api/v1/auth/token", json={"username": "zhou", "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_at"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json()["role"] == "police"
    refused = client.post("/api/v1/auth/token", json={"username": "zhou", "password": "nope-nope"})
    assert refused.status_code == 401
    assert refused.json()["field"] == "password"
    assert client.post("/api/v1/auth/token", json={"username": "zhou"}).status_code == 422
    assert client.post("/api/v1/auth/token", content=b"{not json").status_code == 422


def test_missing_or_bad_credentials_are_401_and_wrong_role_is_403(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    volunteer = make_user(sessions, "vol", Role.VOLUNTEER, scopes=["community:1"])
    assert client.get("/api/v1/users").status_code == 401
    for header in ("Bearer", "Bearer jy_doesnotexist", "Basic abc", "Bearer " + "x" * 5000):
        response = client.get("/api/v1/users", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["www-authenticate"] == "Bearer"
    token = token_for(sessions, volunteer)
    assert client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_odd_login_forms_get_the_form_back_not_an_error(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    make_user(sessions, "zhao", Role.STAFF)
    for username, password, status in (("zhao", "x" * 300, 422), ("", "", 422), ("z" * 500, "pw", 401)):
        response = login(client, username, password)
        assert response.status_code == status
        assert "<form" in response.text
    assert client.post("/login", json={"username": "zhao"}).status_code == 403
