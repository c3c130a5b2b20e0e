"""Every role × every API resource → allowed, or refused with 401/403/404, over real HTTP.

The users are real (made through the accounts service) and sign in with real bearer tokens; the
registry tree is real rows. Each line of MATRIX is one request, with the status expected for each
role in the order of ROLES. To cover a new resource, add a line (and, if it needs ids, a key in
`World.ids`).

Scope rules (DESIGN.md §1): admins manage users and read the audit log of their community; staff
work the registry of their community; grid workers see only their grids' residents and property
companies only their compounds' (others' ids are 404); police see no personal registry data and
volunteers no registry at all (403); a resident sees only their own household; a device token may
only push its own events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts import service
from jiayuan.accounts.schemas import parse_scope
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.ids import new_event_id
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import Building, Community, Compound, Device, Gate, Grid, Household, Street, Unit

ROLES = ("admin", "staff", "grid", "property", "police", "volunteer", "resident", "device", "anonymous")
DEVICE_ID = "jjhy-gate1-qr"

Body = Callable[["World", str], dict[str, Any]]


def heartbeat(_world: World, _role: str) -> dict[str, Any]:
    """A valid event envelope from the gate's QR reader."""
    return {
        "v": 1,
        "id": new_event_id(),
        "device": DEVICE_ID,
        "type": "heartbeat",
        "ts": local(utcnow()).isoformat(),
        "payload": {"uptime_s": 60, "fw": "1.0.0"},
    }


BODIES: dict[str, Body] = {
    "new_user": lambda _w, role: {
        "username": f"new-{role}",
        "role": "volunteer",
        "password": "long-enough-1",
        "scopes": ["community:{community}".format(**_w.ids)],
    },
    "own_token": lambda _w, _role: {"name": "脚本"},
    "device_token": lambda _w, _role: {"name": "门禁", "device_id": "jjhy-gate1-plate"},
    "reason": lambda _w, _role: {"reason": "核对"},
    "heartbeat": heartbeat,
}

# method, path, body (a key of BODIES or None), then the status for each role in ROLES:
#                                                         admin staff grid prop police vol  res  dev  anon
MATRIX: list[tuple[str, str, str | None, tuple[int, ...]]] = [
    # who am I
    ("GET", "/api/v1/auth/me", None,                        (200, 200, 200, 200, 200, 200, 200, 200, 401)),
    # users: admins of the community only; other communities' users do not exist for them
    ("GET", "/api/v1/users", None,                          (200, 403, 403, 403, 403, 403, 403, 403, 401)),
    ("POST", "/api/v1/users", "new_user",                   (201, 403, 403, 403, 403, 403, 403, 403, 401)),
    ("GET", "/api/v1/users/{user_here}", None,              (200, 403, 403, 403, 403, 403, 403, 403, 401)),
    ("GET", "/api/v1/users/{user_elsewhere}", None,         (404, 403, 403, 403, 403, 403, 403, 403, 401)),
    ("GET", "/api/v1/users/999999", None,                   (404, 403, 403, 403, 403, 403, 403, 403, 401)),
    ("POST", "/api/v1/users/{user_here}/unlock", None,      (200, 403, 403, 403, 403, 403, 403, 403, 401)),
    ("POST", "/api/v1/users/{user_elsewhere}/unlock", None, (404, 403, 403, 403, 403, 403, 403, 403, 401)),
    ("POST", "/api/v1/users/{user_here}/deactivate", "reason",
                                                            (200, 403, 403, 403, 403, 403, 403, 403, 401)),
    ("POST", "/api/v1/users/{user_elsewhere}/deactivate", "reason",
                                                            (404, 403, 403, 403, 403, 403, 403, 403, 401)),
    # tokens: everyone signed in manages their own; admins also others' and devices'
    ("GET", "/api/v1/tokens", None,                         (200, 200, 200, 200, 200, 200, 200, 403, 401)),
    ("POST", "/api/v1/tokens", "own_token",                 (201, 201, 201, 201, 201, 201, 201, 403, 401)),
    ("POST", "/api/v1/tokens", "device_token",              (201, 403, 403, 403, 403, 403, 403, 403, 401)),
    ("DELETE", "/api/v1/tokens/{own_token}", None,          (200, 200, 200, 200, 200, 200, 200, 403, 401)),
    ("DELETE", "/api/v1/tokens/{token_of_here}", None,      (200, 404, 404, 404, 404, 404, 404, 403, 401)),
    ("DELETE", "/api/v1/tokens/{token_of_elsewhere}", None, (404, 404, 404, 404, 404, 404, 404, 403, 401)),
    # audit log: admins only
    ("GET", "/api/v1/audit", None,                          (200, 403, 403, 403, 403, 403, 403, 403, 401)),
    ("GET", "/api/v1/audit/export.xlsx", None,              (200, 403, 403, 403, 403, 403, 403, 403, 401)),
    # registry counts: each role sees the part of the tree it works in; devices none
    ("GET", "/api/v1/stats", None,                          (200, 200, 200, 200, 200, 200, 200, 403, 401)),
    # devices: only the device itself pushes its events; the pipeline's state is for the office
    ("POST", "/api/v1/devices/{device}/events", "heartbeat", (403, 403, 403, 403, 403, 403, 403, 202, 401)),
    ("POST", "/api/v1/devices/jjhy-gate9-qr/events", "heartbeat",
                                                            (403, 403, 403, 403, 403, 403, 403, 403, 401)),
    ("GET", "/api/v1/devices/status", None,                 (200, 200, 403, 200, 200, 403, 403, 403, 401)),
    ("GET", "/api/v1/devices/dead-letters", None,           (200, 200, 403, 200, 200, 403, 403, 403, 401)),
    ("GET", "/api/v1/devices/dead-letters/counts", None,    (200, 200, 403, 200, 200, 403, 403, 403, 401)),
]  # fmt: skip


@dataclass
class World:
    """Two communities with users of every role in the first, and their bearer tokens."""

    ids: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    own_token_ids: dict[str, int] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        """The Authorization header of a role (none for the anonymous caller)."""
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role in self.tokens else {}

    def path(self, template: str, role: str) -> str:
        """The path with ids filled in (`{own_token}` is the caller's own token)."""
        return template.format(**self.ids, own_token=self.own_token_ids.get(role, 0))


def build_tree(session: Session) -> dict[str, Any]:
    """紫荆路社区 with 锦江花园 (gate, QR reader, grid) and 森海一期, and 桐本南路社区 elsewhere."""
    street = Street(name="紫荆路街道", city="巩义市")
    community = Community(street=street, name="紫荆路社区")
    elsewhere = Community(street=Street(name="杜甫路街道", city="巩义市"), name="桐本南路社区")
    jinjiang = Compound(community=community, name="锦江花园", code="JJHY")
    senhai = Compound(community=community, name="森海一期", code="SH1")
    far = Compound(community=elsewhere, name="远方小区", code="YF")
    b1, b2, b_far = (Building(compound=c, name="1号楼") for c in (jinjiang, senhai, far))
    h101 = Household(unit=Unit(building=b1, name="1单元"), room="101")
    h201 = Household(unit=Unit(building=b2, name="1单元"), room="201")
    h_far = Household(unit=Unit(building=b_far, name="1单元"), room="301")
    gate = Gate(compound=jinjiang, code="JJHY-1", name="锦江花园1号门")
    session.add_all([street, elsewhere, h101, h201, h_far, gate])
    session.add(Device(id=DEVICE_ID, gate=gate, kind="qr", name="1号门二维码", config={}))
    session.flush()
    grid = Grid(community_id=community.id, name="第一网格", buildings=[b1])
    session.add(grid)
    session.flush()
    return {
        "community": community.id,
        "elsewhere": elsewhere.id,
        "jinjiang": jinjiang.id,
        "senhai": senhai.id,
        "far": far.id,
        "h101": h101.id,
        "h201": h201.id,
        "h_far": h_far.id,
        "grid": grid.id,
        "device": DEVICE_ID,
    }


def build_world(sessions: sessionmaker[Session]) -> World:
    """The tree, one user per role (plus a bystander here and one elsewhere) and their tokens."""
    world = World()
    system = Principal.system()
    with unit_of_work(sessions) as session:
        ids = build_tree(session)
        here = f"community:{ids['community']}"
        scopes = {
            "admin": [here],
            "staff": [here],
            "grid": [here, f"grid:{ids['grid']}"],
            "property": [here, f"compound:{ids['jinjiang']}"],
            "police": [here],
            "volunteer": [here],
            "resident": [here, f"household:{ids['h101']}"],
        }
        for role, role_scopes in scopes.items():
            user = service.create_user(
                session,
                actor=system,
                username=f"u-{role}",
                display_name=role,
                role=Role(role),
                password="long-enough-1",
                scopes=[parse_scope(s) for s in role_scopes],
            )
            world.tokens[role] = service.issue_api_token(session, actor=system, user_id=user.id, name="矩阵")
            world.own_token_ids[role] = service.list_api_tokens(session, actor=service.principal_of(user))[
                0
            ].id
        bystander = service.create_user(
            session,
            actor=system,
            username="bystander",
            display_name="",
            role=Role.STAFF,
            scopes=[parse_scope(here)],
        )
        stranger = service.create_user(
            session,
            actor=system,
            username="stranger",
            display_name="",
            role=Role.STAFF,
            scopes=[parse_scope(f"community:{ids['elsewhere']}")],
        )
        ids["user_here"] = bystander.id
        ids["user_elsewhere"] = stranger.id
        for user, key in ((bystander, "token_of_here"), (stranger, "token_of_elsewhere")):
            service.issue_api_token(session, actor=system, user_id=user.id, name="他人")
            ids[key] = service.list_api_tokens(session, actor=service.principal_of(user))[0].id
        world.tokens["device"] = service.issue_api_token(
            session, actor=system, device_id=DEVICE_ID, name="矩阵"
        )
    world.ids = ids
    return world


def test_matrix_lines_are_well_formed() -> None:
    for method, path, body, expected in MATRIX:
        assert method in {"GET", "POST", "PATCH", "PUT", "DELETE"}, path
        assert path.startswith("/api/v1/"), path
        assert body is None or body in BODIES, path
        assert len(expected) == len(ROLES), path


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    MATRIX,
    ids=[f"{method} {path}" + (f" ({body})" if body else "") for method, path, body, expected in MATRIX],
)
def test_scope_matrix(
    client: TestClient,
    sessions: sessionmaker[Session],
    method: str,
    path: str,
    body: str | None,
    expected: tuple[int, ...],
) -> None:
    world = build_world(sessions)
    wrong: list[str] = []
    for role, want in zip(ROLES, expected, strict=True):
        url = world.path(path, role)
        payload = BODIES[body](world, role) if body else None
        response = client.request(method, url, json=payload, headers=world.headers(role))
        if response.status_code != want:
            wrong.append(
                f"{role}: {method} {url} → {response.status_code}, expected {want}: {response.text[:200]}"
            )
    assert not wrong, "\n".join(wrong)
