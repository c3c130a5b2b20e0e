"""The console's users page: add, deactivate and unlock through forms, with CSRF and clear errors."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import AuditEntry, LoginSession, LoginThrottle, User
from jiayuan.accounts.schemas import LoginPolicy
from jiayuan.accounts.service import logins
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Role
from tests.accounts.helpers import csrf_token, login
from tests.factories import Tree, build_tree, make_user


def signed_in_admin(client: TestClient, sessions: sessionmaker[Session]) -> tuple[str, Tree]:
    """The CSRF token of an admin of the registry tree's first community, and the tree."""
    with sessions() as db:
        tree = build_tree(db)
    make_user(sessions, "boss", Role.ADMIN, scopes=[f"community:{tree.community.id}"])
    login(client, "boss")
    return csrf_token(client), tree


def user_named(sessions: sessionmaker[Session], username: str) -> User | None:
    with sessions() as session:
        return session.scalars(select(User).where(User.username == username)).one_or_none()


def test_admin_adds_a_user_from_the_form(client: TestClient, sessions: sessionmaker[Session]) -> None:
    token, tree = signed_in_admin(client, sessions)
    here, grid = f"community:{tree.community.id}", f"grid:{tree.grid.id}"
    form = {
        "csrf_token": token,
        "username": "gw01",
        "display_name": "王丽娟",
        "role": "grid",
        "password": "grid-pass-2026",
        "scopes": f"{here}，{grid}",
    }
    response = client.post("/console/users", data=form, follow_redirects=False)
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "已添加用户 gw01" in page.text
    assert "王丽娟" in page.text and "网格员" in page.text and grid in page.text
    user = user_named(sessions, "gw01")
    assert user is not None and sorted(f"{s.kind}:{s.ref_id}" for s in user.scopes) == sorted([here, grid])


def test_form_errors_are_shown_beside_the_form_and_nothing_is_written(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    token, tree = signed_in_admin(client, sessions)
    here, elsewhere = f"community:{tree.community.id}", f"community:{tree.other_community.id}"
    base = {"csrf_token": token, "username": "gw02", "role": "grid", "password": "grid-pass-2026"}
    cases = [
        ({"scopes": f"{here} grid:x"}, 422, "范围编号必须是正整数"),
        ({"scopes": f"{here} grid:\u00b2"}, 422, "范围编号必须是正整数"),  # a digit int() refuses
        ({"scopes": elsewhere}, 422, f"范围 {elsewhere} 不存在"),
        ({"scopes": f"{here} compound:{tree.far.id}"}, 422, f"范围 compound:{tree.far.id} 不存在"),
        ({"scopes": here, "role": "boss"}, 422, "请选择角色"),
        ({"scopes": here, "password": "short"}, 422, "密码至少 8 位"),
        ({"scopes": here, "username": "boss"}, 409, "已存在"),
        ({"scopes": here, "username": "<b>x</b>"}, 422, "用户名须为"),
    ]
    for change, status, message in cases:
        response = client.post("/console/users", data={**base, **change})
        assert response.status_code == status, change
        assert message in response.text, change
        assert "<b>x</b>" not in response.text
    assert user_named(sessions, "gw02") is None
    refused = client.post("/console/users", data={**base, "csrf_token": "", "scopes": here})
    assert refused.status_code == 403
    assert user_named(sessions, "gw02") is None


def test_admin_unlocks_and_deactivates_from_the_list(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    target = make_user(sessions, "wangfang", Role.STAFF, scopes=["community:1"])
    policy = LoginPolicy(slowdown_after=100, lock_after=3)
    for _ in range(3):
        with unit_of_work(sessions) as session:
            logins.authenticate(
                session, username="wangfang", password="wrong", policy=policy, ip="203.0.113.9"
            )
    token, _ = signed_in_admin(client, sessions)
    page = client.get("/console/users")
    assert "登录锁定" in page.text and "203.0.113.9" in page.text
    assert f"/console/users/{target}/unlock" in page.text
    response = client.post(
        f"/console/users/{target}/unlock", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    with sessions() as session:
        assert session.scalars(select(LoginThrottle).where(LoginThrottle.username == "wangfang")).all() == []
    response = client.post(
        f"/console/users/{target}/deactivate",
        data={"csrf_token": token, "reason": "调离"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "已停用" in client.get("/console/users").text
    gone = client.post("/console/users/999999/deactivate", data={"csrf_token": token})
    assert gone.status_code == 404 and "用户不存在" in gone.text
    with sessions() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.actor_name == "boss")).all()
    assert "user.unlock" in actions and "user.deactivate" in actions


def test_audit_page_explains_a_bad_filter(client: TestClient, sessions: sessionmaker[Session]) -> None:
    signed_in_admin(client, sessions)
    response = client.get("/console/audit", params={"since": "昨天"})
    assert response.status_code == 422
    assert "筛选条件有误" in response.text and "since" in response.text
    ok = client.get("/console/audit", params={"since": "2026-01-01", "until": "2026-12-31", "actor": "boss"})
    assert ok.status_code == 200
    assert 'value="2026-01-01"' in ok.text and "export.xlsx?actor=boss&amp;since=2026-01-01" in ok.text


def test_home_shows_each_role_only_its_areas(client: TestClient, sessions: sessionmaker[Session]) -> None:
    expected = {
        Role.ADMIN: {
            "/console/cases",
            "/console/messages",
            "/console/residents",
            "/console/residents/import",
            "/console/flow",
            "/console/visitors",
            "/console/cameras",
            "/console/devices",
            "/console/users",
            "/console/audit",
            "/console/duty",
            "/console/patrol",
            "/screen",
            "/m",
        },
        Role.STAFF: {
            "/console/cases",
            "/console/duty",
            "/console/messages",
            "/console/residents",
            "/console/residents/import",
            "/console/flow",
            "/console/visitors",
            "/console/cameras",
            "/console/devices",
            "/console/patrol",
            "/screen",
            "/m",
        },
        Role.GRID: {
            "/console/cases",
            "/console/duty",
            "/console/residents",
            "/console/flow",
            "/console/visitors",
            "/console/cameras",
            "/console/patrol",
            "/m",
        },
        Role.VOLUNTEER: {"/console/flow", "/console/cameras", "/console/duty", "/console/patrol"},
        Role.SCREEN: {
            "/console/cases",
            "/console/flow",
            "/console/cameras",
            "/console/patrol",
            "/console/duty",
            "/screen",
        },
        Role.RESIDENT: {"/console/cases", "/console/residents", "/console/visitors"},
    }
    for role, areas in expected.items():
        make_user(sessions, f"u-{role.value}", role, scopes=["community:1"])
        client.cookies.clear()
        login(client, f"u-{role.value}")
        header, main = client.get("/console").text.split("<main", 1)
        shown = set(re.findall(r'<a class="area" href="([^"]+)"', main))
        assert shown == areas, role
        # The top bar offers the same areas, and nothing else of the console.
        assert set(re.findall(r'<a href="(/console/[^"]+|/screen|/m)"', header)) == areas, role


def test_an_expired_session_is_refused(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "wangfang", Role.STAFF)
    login(client, "wangfang")
    assert client.get("/api/v1/auth/me").status_code == 200
    with unit_of_work(sessions) as session:
        for stored in session.scalars(select(LoginSession)):
            stored.expires_at = utcnow() - timedelta(seconds=1)
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.get("/console", follow_redirects=False).status_code == 303
