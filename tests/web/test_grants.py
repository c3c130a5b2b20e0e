"""Every path that confers access, tried by the admin of another community: refused exactly as for an id
that does not exist, so no grant reaches outside the granting admin's communities and none tells what
exists there.

The world is the scope matrix's: 紫荆路社区 (here) with users of every role, and 桐本南路社区 (elsewhere),
whose admin does the trying. A district admin (no community scope) may grant anywhere that exists.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import ApiToken, User
from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service import tokens, users
from jiayuan.db.uow import unit_of_work
from jiayuan.devices.service import tokens as devices
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.errors import JiayuanError
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.service.directory import scope_resolver
from tests.accounts.helpers import csrf_token, login
from tests.factories import PASSWORD
from tests.web.test_scope_matrix import DEVICE_ID, World, build_world

MISSING = 999999
# The targets of the first community, by scope kind (keys of World.ids).
TARGETS = {
    "community": "community",
    "compound": "jinjiang",
    "grid": "grid",
    "household": "h101",
    "person": "in_grid",
}


def other_admin(
    sessions: sessionmaker[Session], world: World, *, district: bool = False
) -> tuple[Principal, str]:
    """An admin of the second community (or of the whole district) with a bearer token."""
    scopes = [] if district else [(ScopeKind.COMMUNITY, world.ids["elsewhere_community"])]
    name = "district-admin" if district else "far-admin"
    with unit_of_work(sessions) as session:
        user = users.create_user(
            session, actor=Principal.system(), username=name, display_name=name, role=Role.ADMIN,
            password=PASSWORD, scopes=scopes,
        )  # fmt: skip
        token = tokens.issue_api_token(session, actor=Principal.system(), user_id=user.id, name="测试")
        return users.principal_of(user), token


def user_body(world: World, kind: str, ref: int, n: int) -> dict[str, Any]:
    return {
        "username": f"grantee-{kind}-{n}",
        "role": "staff",
        "password": "long-enough-1",
        "scopes": [f"community:{world.ids['elsewhere_community']}", f"{kind}:{ref}"],
    }


def same_answer(existing: Any, missing: Any, existing_id: object) -> None:
    """The answer for an existing target outside scope equals the one for a missing id (the id aside)."""
    assert existing.status_code == missing.status_code, (existing.text, missing.text)
    assert existing.text.replace(str(existing_id), "ID") == missing.text.replace(str(MISSING), "ID")


def test_users_get_no_scope_in_another_community_over_the_api(
    client: TestClient, sessions: sessionmaker[Session], vault: PiiVault
) -> None:
    world = build_world(sessions, vault)
    _, token = other_admin(sessions, world)
    headers = {"Authorization": f"Bearer {token}"}
    for n, (kind, key) in enumerate(TARGETS.items()):
        ref = world.ids[key]
        existing = client.post("/api/v1/users", json=user_body(world, kind, ref, n), headers=headers)
        missing = client.post("/api/v1/users", json=user_body(world, kind, MISSING, n), headers=headers)
        assert existing.status_code == 422 and existing.json()["field"] == "scopes", existing.text
        same_answer(existing, missing, ref)
    with sessions() as session:
        assert (
            session.scalar(select(func.count()).select_from(User).where(User.username.like("grantee-%"))) == 0
        )
    # their own community's objects are fine
    own = user_body(world, "community", world.ids["elsewhere_community"], 99)
    assert client.post("/api/v1/users", json=own, headers=headers).status_code == 201


def test_users_get_no_scope_in_another_community_through_the_service(
    sessions: sessionmaker[Session], vault: PiiVault
) -> None:
    world = build_world(sessions, vault)
    admin, _ = other_admin(sessions, world)
    district, _ = other_admin(sessions, world, district=True)
    for n, (kind, key) in enumerate(TARGETS.items()):
        for ref in (world.ids[key], MISSING):
            with sessions() as session, pytest.raises(JiayuanError) as refused:
                users.create_user(
                    session, actor=admin, username=f"svc-{n}", display_name="", role=Role.STAFF,
                    scopes=[(ScopeKind.COMMUNITY, world.ids["elsewhere_community"]), (ScopeKind(kind), ref)],
                    community_of=scope_resolver(session),
                )  # fmt: skip
            assert (refused.value.status, refused.value.field) == (422, "scopes")
            assert refused.value.message == f"范围 {kind}:{ref} 不存在"
        # the district admin places users anywhere that exists, but not at missing ids
        with unit_of_work(sessions) as session:
            users.create_user(
                session, actor=district, username=f"district-{n}", display_name="", role=Role.STAFF,
                scopes=[(ScopeKind(kind), world.ids[key])], community_of=scope_resolver(session),
            )  # fmt: skip
        with sessions() as session, pytest.raises(JiayuanError, match="不存在"):
            users.create_user(
                session, actor=district, username=f"district-x{n}", display_name="", role=Role.STAFF,
                scopes=[(ScopeKind(kind), MISSING)], community_of=scope_resolver(session),
            )  # fmt: skip


def test_the_console_form_refuses_scopes_of_another_community(
    client: TestClient, sessions: sessionmaker[Session], vault: PiiVault
) -> None:
    world = build_world(sessions, vault)
    other_admin(sessions, world)
    assert login(client, "far-admin").status_code == 303
    csrf = csrf_token(client)
    texts = []
    for ref in (world.ids["jinjiang"], MISSING):
        form = {
            "username": "console-grantee", "display_name": "", "role": "staff", "password": "long-enough-1",
            "scopes": f"community:{world.ids['elsewhere_community']} compound:{ref}", "csrf_token": csrf,
        }  # fmt: skip
        answer = client.post("/console/users", data=form, headers={"X-CSRF-Token": csrf})
        assert answer.status_code == 422, answer.text[:300]
        found = re.search(r"范围 compound:\d+ 不存在", answer.text)
        assert found, answer.text[:2000]
        texts.append(found.group(0).replace(str(ref), "ID"))
    assert texts[0] == texts[1]


def test_tokens_for_another_communitys_users_and_devices_are_refused(
    client: TestClient, sessions: sessionmaker[Session], vault: PiiVault
) -> None:
    world = build_world(sessions, vault)
    admin, token = other_admin(sessions, world)
    headers = {"Authorization": f"Bearer {token}"}
    user_here = world.ids["user_here"]
    existing = client.post("/api/v1/tokens", json={"name": "x", "user_id": user_here}, headers=headers)
    missing = client.post("/api/v1/tokens", json={"name": "x", "user_id": MISSING}, headers=headers)
    assert existing.status_code == 404
    same_answer(existing, missing, user_here)
    existing = client.post("/api/v1/tokens", json={"name": "x", "device_id": DEVICE_ID}, headers=headers)
    missing = client.post("/api/v1/tokens", json={"name": "x", "device_id": str(MISSING)}, headers=headers)
    assert existing.status_code == 404 and existing.json()["field"] == "device_id"
    same_answer(existing, missing, DEVICE_ID)
    with sessions() as session:
        for device_id in (DEVICE_ID, "no-such-device"):
            with pytest.raises(JiayuanError) as refused:
                devices.issue_device_token(session, actor=admin, device_id=device_id, name="x")
            assert (refused.value.status, refused.value.message) == (404, "设备不存在")
        with pytest.raises(JiayuanError) as refused:
            tokens.create_api_token(session, actor=admin, user_id=user_here, name="x")
        assert (refused.value.status, refused.value.message) == (404, "用户不存在")
    with sessions() as session:
        rows = session.scalars(select(ApiToken).where(ApiToken.name == "x")).all()
    assert rows == []
    # their own community's device gets one
    assert (
        client.post(
            "/api/v1/tokens", json={"name": "y", "device_id": "yf-gate1-cam"}, headers=headers
        ).status_code
        == 201
    )


def test_another_communitys_device_tokens_are_neither_listed_nor_revocable(
    client: TestClient, sessions: sessionmaker[Session], vault: PiiVault
) -> None:
    world = build_world(sessions, vault)
    _, token = other_admin(sessions, world)
    headers = {"Authorization": f"Bearer {token}"}
    device_token = world.own_token_ids["device"]
    listed = client.get("/api/v1/tokens", headers=headers)
    assert listed.status_code == 200
    assert all(t["device_id"] != DEVICE_ID for t in listed.json())
    existing = client.delete(f"/api/v1/tokens/{device_token}", headers=headers)
    missing = client.delete(f"/api/v1/tokens/{MISSING}", headers=headers)
    assert existing.status_code == 404
    same_answer(existing, missing, device_token)
    with sessions() as session:
        assert session.get(ApiToken, device_token).revoked_at is None  # type: ignore[union-attr]
    # the district admin oversees every community's devices
    _, district = other_admin(sessions, world, district=True)
    listed = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {district}"})
    assert any(t["id"] == device_token for t in listed.json())


def test_a_user_of_two_communities_is_managed_only_by_admins_of_both(
    client: TestClient, sessions: sessionmaker[Session], vault: PiiVault
) -> None:
    """Resetting the password of someone who also works elsewhere would hand the resetter that community."""
    world = build_world(sessions, vault)
    admin, token = other_admin(sessions, world)
    with unit_of_work(sessions) as session:
        both = users.create_user(
            session, actor=Principal.system(), username="two-offices", display_name="", role=Role.STAFF,
            password=PASSWORD,
            scopes=[(ScopeKind.COMMUNITY, world.ids["community"]),
                    (ScopeKind.COMMUNITY, world.ids["elsewhere_community"])],
        )  # fmt: skip
        user_id = both.id
    headers = {"Authorization": f"Bearer {token}"}
    for method, path, body in (
        ("GET", "/api/v1/users/{id}", None),
        ("POST", "/api/v1/users/{id}/password", {"new_password": "another-long-one-7"}),
        ("POST", "/api/v1/users/{id}/deactivate", {"reason": "离职"}),
        ("POST", "/api/v1/users/{id}/unlock", None),
    ):
        existing = client.request(method, path.format(id=user_id), json=body, headers=headers)
        missing = client.request(method, path.format(id=MISSING), json=body, headers=headers)
        assert existing.status_code == 404, (path, existing.text)
        same_answer(existing, missing, user_id)
    listed = client.get("/api/v1/users", headers=headers, params={"size": 200}).json()
    assert user_id not in [u["id"] for u in listed["items"]]
    with sessions() as session:
        stored = session.get(User, user_id)
        assert stored is not None and stored.is_active
        assert users.find_user(session, actor=Principal.system(), username="two-offices").id == user_id
        with pytest.raises(JiayuanError):
            users.get_user(session, actor=admin, user_id=user_id)
