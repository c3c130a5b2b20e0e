"""Changing one's password and resetting another's: rules, scope, and every other session and token ends."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts import passwords
from jiayuan.accounts.models import ApiToken, AuditEntry, User
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Role
from jiayuan.settings import Settings
from jiayuan.web.app import create_app
from tests.accounts.helpers import csrf_token, login
from tests.factories import PASSWORD, make_user, seed_site, token_for

NEW = "ziJing-road-7731"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def stored_hash(sessions: sessionmaker[Session], username: str) -> str:
    with sessions() as session:
        found = session.scalar(select(User.password_hash).where(User.username == username))
    assert found is not None
    return found


def audit_actions(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_changing_ones_password_ends_other_sessions_and_every_token_but_keeps_this_one(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    user_id = make_user(sessions, "liuying", Role.STAFF, scopes=["community:1"])
    script = token_for(sessions, user_id, name="脚本")
    with TestClient(create_app(settings)) as laptop:
        assert login(laptop, "liuying").status_code == 303
        login(client, "liuying")
        response = client.post(
            "/api/v1/auth/password",
            json={"current_password": PASSWORD, "new_password": NEW},
            headers={"x-csrf-token": csrf_token(client)},
        )
        assert response.status_code == 204, response.text
        # This browser stays signed in; the laptop's session and the script's token are gone.
        assert client.get("/api/v1/auth/me").status_code == 200
        assert laptop.get("/api/v1/auth/me").status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(script)).status_code == 401
    assert passwords.verify_password(stored_hash(sessions, "liuying"), NEW)
    assert "user.password_change" in audit_actions(sessions)


@pytest.mark.parametrize(
    ("current", "new", "field", "message"),
    [
        ("wrong-current-1", NEW, "current_password", "当前密码不正确"),
        (PASSWORD, "short7!", "new_password", "密码至少 8 位"),
        (PASSWORD, "LiuYing", "new_password", "密码至少 8 位"),
        (PASSWORD, "liuying123", "new_password", None),
        (PASSWORD, "password123", "new_password", "密码太常见"),
        (PASSWORD, "12345678", "new_password", "密码太常见"),
        (PASSWORD, "aaaaaaaaaaaa", "new_password", "密码太常见"),
        (PASSWORD, PASSWORD, "new_password", "新密码不能与当前密码相同"),
    ],
)
def test_a_bad_change_says_which_field_and_changes_nothing(
    client: TestClient,
    sessions: sessionmaker[Session],
    current: str,
    new: str,
    field: str,
    message: str | None,
) -> None:
    user_id = make_user(sessions, "liuying1", Role.STAFF)
    before = stored_hash(sessions, "liuying1")
    token = token_for(sessions, user_id)
    response = client.post(
        "/api/v1/auth/password",
        json={"current_password": current, "new_password": new},
        headers=bearer(token),
    )
    if message is None:  # an ordinary password that merely contains the username is fine
        assert response.status_code == 204
        return
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field and message in response.json()["detail"]
    assert stored_hash(sessions, "liuying1") == before
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200


def test_the_username_itself_is_refused_as_a_password(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    token = token_for(sessions, make_user(sessions, "wangfang88", Role.STAFF))
    response = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "WangFang88"},
        headers=bearer(token),
    )
    assert response.status_code == 422 and "不能与用户名相同" in response.json()["detail"]


def test_an_admin_resets_a_password_within_their_scope_only(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    target = make_user(sessions, "liuying", Role.STAFF, scopes=["community:1"])
    outsider = make_user(sessions, "zhao", Role.STAFF, scopes=["community:2"])
    boss = bearer(token_for(sessions, make_user(sessions, "boss", Role.ADMIN, scopes=["community:1"])))
    staff = bearer(token_for(sessions, make_user(sessions, "staff2", Role.STAFF, scopes=["community:1"])))
    their_token = token_for(sessions, target)
    login(client, "liuying")
    assert client.get("/api/v1/auth/me").status_code == 200

    body = {"new_password": NEW}
    assert client.post(f"/api/v1/users/{target}/password", json=body, headers=staff).status_code == 403
    # Another community's user is "not found", exactly like a missing one.
    out = client.post(f"/api/v1/users/{outsider}/password", json=body, headers=boss)
    missing = client.post("/api/v1/users/999999/password", json=body, headers=boss)
    assert out.status_code == missing.status_code == 404 and out.json() == missing.json()
    weak = client.post(f"/api/v1/users/{target}/password", json={"new_password": "88888888"}, headers=boss)
    assert weak.status_code == 422 and weak.json()["field"] == "new_password"

    done = client.post(f"/api/v1/users/{target}/password", json=body, headers=boss)
    assert done.status_code == 200, done.text
    # The user is signed out everywhere and every token of theirs is revoked.
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(their_token)).status_code == 401
    assert passwords.verify_password(stored_hash(sessions, "liuying"), NEW)
    with sessions() as session:
        reset = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.password_reset")).one()
        assert (reset.actor_name, reset.target_label, reset.community_id) == ("boss", "liuying", 1)
        assert all(t.revoked_at for t in session.scalars(select(ApiToken).where(ApiToken.user_id == target)))


def test_password_forms_in_the_console(client: TestClient, sessions: sessionmaker[Session]) -> None:
    target = make_user(sessions, "liuying", Role.STAFF, scopes=["community:1"])
    make_user(sessions, "boss", Role.ADMIN, scopes=["community:1"])
    login(client, "boss")
    token = csrf_token(client)
    page = client.get("/console/users")
    assert f'action="/console/users/{target}/password"' in page.text
    weak = client.post(
        f"/console/users/{target}/password", data={"csrf_token": token, "new_password": "12345678"}
    )
    assert weak.status_code == 422 and "密码太常见" in weak.text
    done = client.post(
        f"/console/users/{target}/password",
        data={"csrf_token": token, "new_password": NEW},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert passwords.verify_password(stored_hash(sessions, "liuying"), NEW)

    # Everyone changes their own password on /console/password (linked from their name).
    assert 'href="/console/password"' in client.get("/console").text
    form = client.get("/console/password")
    assert form.status_code == 200 and 'name="current_password"' in form.text
    fields = {"csrf_token": token, "current_password": PASSWORD, "new_password": NEW}
    mismatch = client.post("/console/password", data={**fields, "new_password_again": NEW + "x"})
    assert mismatch.status_code == 422 and "两次输入的新密码不一致" in mismatch.text
    changed = client.post("/console/password", data={**fields, "new_password_again": NEW})
    assert changed.status_code == 200 and "密码已修改" in changed.text
    assert client.get("/console").status_code == 200
    assert passwords.verify_password(stored_hash(sessions, "boss"), NEW)


def test_self_made_tokens_live_at_most_the_configured_days_and_device_tokens_are_unaffected(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    limited = settings.model_copy(update={"api_token_max_days": 30})
    with sessions() as session:
        seed_site(session)
    me = bearer(token_for(sessions, make_user(sessions, "liuying", Role.STAFF, scopes=["community:1"])))
    admin = bearer(token_for(sessions, make_user(sessions, "boss", Role.ADMIN)))
    with TestClient(create_app(limited)) as client:
        cap = utcnow() + timedelta(days=30)

        def expiry(body: dict[str, object], headers: dict[str, str]) -> timedelta | None:
            response = client.post("/api/v1/tokens", json=body, headers=headers)
            assert response.status_code == 201, response.text
            value = response.json()["expires_at"]
            if value is None:
                return None
            return datetime.fromisoformat(value) - cap

        no_expiry = expiry({"name": "无期限"}, me)
        later = expiry({"name": "两年", "expires_at": (utcnow() + timedelta(days=730)).isoformat()}, me)
        assert no_expiry is not None and abs(no_expiry) < timedelta(minutes=1)
        assert later is not None and abs(later) < timedelta(minutes=1)
        sooner = expiry({"name": "一周", "expires_at": (utcnow() + timedelta(days=7)).isoformat()}, me)
        assert sooner is not None and abs(sooner + timedelta(days=23)) < timedelta(minutes=1)
        # Device tokens live until revoked.
        assert expiry({"name": "闸机", "device_id": "jjhy-gate1-qr"}, admin) is None

        past = client.post(
            "/api/v1/tokens", json={"name": "过去", "expires_at": "2020-01-01T00:00:00+08:00"}, headers=me
        )
        assert past.status_code == 422 and past.json()["field"] == "expires_at"
        assert "expires_at" in past.json()["detail"]


def test_guessing_the_current_password_counts_as_failed_logins(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    """A stolen session or token is no way to guess the password: the change form's wrong guesses
    are counted and locked like a login's (lock after 3 here), and the lock holds for the login too."""
    strict = settings.model_copy(update={"login_slowdown_after": 10, "login_lock_after": 3})
    token = token_for(sessions, make_user(sessions, "liuying", Role.STAFF))
    with TestClient(create_app(strict)) as client:
        answers = []
        for guess in ("guess-0001", "guess-0002", "guess-0003", PASSWORD):
            response = client.post(
                "/api/v1/auth/password",
                json={"current_password": guess, "new_password": NEW},
                headers=bearer(token),
            )
            answers.append((response.status_code, response.json()["field"]))
        assert answers[:2] == [(422, "current_password")] * 2
        assert answers[2:] == [(429, "current_password")] * 2  # the third locks: even the right one fails
        login_now = client.post("/api/v1/auth/token", json={"username": "liuying", "password": PASSWORD})
        assert login_now.status_code == 429
    assert passwords.verify_password(stored_hash(sessions, "liuying"), PASSWORD)
