"""Repeated failed logins over HTTP: slowed with Retry-After, locked until a stated time, lifted by admins."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import AuditEntry, LoginThrottle, User
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Role
from jiayuan.settings import Settings
from jiayuan.web.app import create_app
from tests.accounts.helpers import login
from tests.factories import PASSWORD, make_user


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Lock after three failures, with no slowdown before, to keep the test short."""
    return settings.model_copy(
        update={"login_slowdown_after": 100, "login_lock_after": 3, "login_lock_minutes": 10}
    )


def token_attempt(client: TestClient, password: str) -> tuple[int, dict[str, str], str]:
    response = client.post("/api/v1/auth/token", json={"username": "liuying", "password": password})
    return (
        response.status_code,
        dict(response.headers),
        response.json()["detail"] if response.status_code != 200 else "",
    )


def test_lockout_over_the_api_says_until_when_and_survives_a_restart(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    make_user(sessions, "liuying", Role.STAFF, scopes=["community:1"])
    assert token_attempt(client, "bad-1")[0] == 401
    status, _, detail = token_attempt(client, "bad-2")
    assert status == 401 and "再错 1 次将在当前网络地址锁定 10 分钟" in detail
    status, headers, detail = token_attempt(client, "bad-3")
    assert status == 429
    assert "已锁定至" in detail
    assert 9 * 60 < int(headers["retry-after"]) <= 10 * 60

    # A new application on the same database (a restart) still refuses the right password.
    with TestClient(create_app(settings)) as restarted:
        response = restarted.post("/api/v1/auth/token", json={"username": "liuying", "password": PASSWORD})
        assert response.status_code == 429
        assert "已锁定至" in response.json()["detail"]

    with unit_of_work(sessions) as session:
        for row in session.scalars(select(LoginThrottle)):
            row.locked_until = None if row.locked_until is None else utcnow() - timedelta(seconds=1)
    assert token_attempt(client, PASSWORD)[0] == 200
    with sessions() as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == [
        "user.create",
        "login.failed",
        "login.failed",
        "login.failed",
        "login.locked",
        "login.failed",
        "login.success",
        "token.issue",
    ]


def test_lockout_on_the_login_page_shows_the_message(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    make_user(sessions, "liuying", Role.STAFF)
    for _ in range(3):
        response = login(client, "liuying", "wrong-password")
    assert response.status_code == 429
    assert "已锁定至" in response.text
    assert response.headers["retry-after"]
    again = login(client, "liuying")
    assert again.status_code == 429
    assert "jiayuan_session" not in again.headers.get("set-cookie", "")


def test_an_admin_sees_and_lifts_a_lock(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "liuying", Role.STAFF, scopes=["community:1"])
    make_user(sessions, "boss", Role.ADMIN, scopes=["community:1"])
    make_user(sessions, "boss2", Role.ADMIN, scopes=["community:2"])
    for _ in range(3):
        token_attempt(client, "wrong")

    def bearer(name: str) -> dict[str, str]:
        issued = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
        return {"Authorization": f"Bearer {issued.json()['token']}"}

    boss, boss2 = bearer("boss"), bearer("boss2")
    listed = client.get("/api/v1/auth/lockouts", headers=boss)
    assert listed.status_code == 200
    [lock] = listed.json()
    assert (lock["kind"], lock["username"], lock["failures"]) == ("pair", "liuying", 3)
    assert lock["ip"] and lock["locked_until"]
    # Another community's admin neither sees it nor lifts it.
    assert client.get("/api/v1/auth/lockouts", headers=boss2).json() == []
    assert client.delete(f"/api/v1/auth/lockouts/{lock['id']}", headers=boss2).status_code == 404
    assert client.get("/api/v1/auth/lockouts").status_code == 401
    assert client.delete(f"/api/v1/auth/lockouts/{lock['id']}", headers=boss).status_code == 200
    assert client.get("/api/v1/auth/lockouts", headers=boss).json() == []
    assert token_attempt(client, PASSWORD)[0] == 200


def test_unlock_by_user_lifts_every_lock_on_the_username(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    make_user(sessions, "liuying", Role.STAFF)
    make_user(sessions, "boss", Role.ADMIN)
    for _ in range(3):
        token_attempt(client, "wrong")
    admin_token = client.post("/api/v1/auth/token", json={"username": "boss", "password": PASSWORD}).json()[
        "token"
    ]
    with sessions() as session:
        user_id = session.scalar(select(User.id).where(User.username == "liuying"))
    response = client.post(
        f"/api/v1/users/{user_id}/unlock", headers={"Authorization": f"Bearer {admin_token}"}
    )
    assert response.status_code == 200
    assert token_attempt(client, PASSWORD)[0] == 200


def test_slowdown_asks_to_wait_with_retry_after(sessions: sessionmaker[Session], settings: Settings) -> None:
    slow = settings.model_copy(update={"login_slowdown_after": 1, "login_lock_after": 10})
    make_user(sessions, "liuying", Role.STAFF)
    with TestClient(create_app(slow)) as client:
        assert token_attempt(client, "wrong")[0] == 401
        status, headers, detail = token_attempt(client, PASSWORD)
        assert status == 429
        assert headers["retry-after"] == "1"
        assert detail == "登录失败次数过多，请 1 秒后再试"


def test_production_cookies_are_secure(sessions: sessionmaker[Session], settings: Settings) -> None:
    production = settings.model_copy(
        update={
            "env": "production",
            "secret_key": SecretStr(secrets.token_urlsafe(32)),
            "pass_signing_key": SecretStr(secrets.token_urlsafe(32)),
        }
    )
    make_user(sessions, "liuying", Role.STAFF)
    with TestClient(create_app(production), base_url="https://testserver") as client:
        response = login(client, "liuying")
        assert response.status_code == 303
        cookie = response.headers["set-cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie
        assert "Max-Age=43200" in cookie
