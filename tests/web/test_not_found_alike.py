"""No answer tells whether an object exists outside one's scope.

The test walks every route of the app with an id in its path and, as each scoped account, compares the
answer for an existing object outside the account's scope with the answer for an id that does not
exist: same status, same body (the id itself aside). Routes with the id in the body or the query are
listed by hand below. A new route with a path id is covered as soon as its parameter name has
candidates in OUTSIDE; one whose parameter is unknown fails the test until it has.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault
from jiayuan.settings import Settings
from tests.accounts.helpers import csrf_token, login
from tests.factories import make_id
from tests.web.test_scope_matrix import World, build_world
from tests.web.test_snapshot_access import store_all

ROLES = ("admin", "staff", "grid", "property", "resident")
NARROW = frozenset({"grid", "property", "resident"})
EVERYONE = frozenset(ROLES)
PASSWORD = "long-enough-1"

# Path parameter → (key of World.ids, the roles for which that object lies outside their scope).
OUTSIDE: dict[str, list[tuple[str, frozenset[str]]]] = {
    "user_id": [("user_elsewhere", EVERYONE), ("user_here", EVERYONE - {"admin"})],
    "token_id": [("token_of_elsewhere", EVERYONE), ("token_of_here", EVERYONE - {"admin"})],
    "lockout_id": [("lock_elsewhere", EVERYONE), ("lock_here", EVERYONE - {"admin"})],
    "device_id": [("camera_elsewhere", EVERYONE), ("camera_senhai", frozenset({"property"}))],
    "gate_id": [("gate_far", EVERYONE), ("gate_senhai", frozenset({"property"}))],
    "compound_id": [("far", EVERYONE), ("senhai", frozenset({"property"}))],
    "visitor_id": [("v_far", EVERYONE), ("v_outside_grid", NARROW)],
    "resident_id": [("elsewhere", EVERYONE), ("outside_grid", NARROW)],
    "household_id": [("h_far", EVERYONE), ("h201", NARROW), ("h102", frozenset({"resident"}))],
    "case_id": [("case_far", EVERYONE), ("case_outside_grid", NARROW)],
    "attachment_id": [
        ("photo_case_far", EVERYONE),
        ("photo_case_outside_grid", NARROW),
        ("upload_of_stranger", EVERYONE),
    ],
    "shift_id": [("shift_far", EVERYONE), ("shift_here", NARROW)],
    "template_id": [("template_far", EVERYONE)],
    "holiday_id": [("holiday_far", EVERYONE)],
    "round_id": [("round_far", EVERYONE)],
    "plan_id": [("plan_far", EVERYONE)],
    "request_id": [("case_far", EVERYONE), ("case_outside_grid", NARROW)],
    "unread_id": [("unread_far", EVERYONE), ("unread_senhai", frozenset({"property"}))],
}
MISSING = {"device_id": "jjhy-gate9-cam"}
# A second path parameter gets a fixed value: the first one names the object whose scope decides.
FIXED = {"snapshot_id": "snap-1", "share_id": "1"}
MISSING_ID = 999999
# Path parameters that are no id: a visitor's pass link carries the signed pass itself, which opens
# its page without signing in (forged ones are refused in tests/web/test_h5.py).
NOT_IDS = frozenset({"token"})

# Bodies for writing routes (JSON for the API, a form for the console).
BODIES: dict[str, dict[str, Any]] = {
    "/api/v1/users/{user_id}/deactivate": {"reason": "核对"},
    "/api/v1/residents/{resident_id}": {"phone": "13900001111"},
    "/api/v1/residents/{resident_id}/reveal": {"field": "id_number", "reason": "核对低保申请材料"},
    "/console/users/{user_id}/deactivate": {"reason": "核对"},
    "/console/residents/{resident_id}/reveal": {"field": "id_number", "reason": "核对低保申请材料"},
    "/api/v1/cases/{case_id}/actions": {"action": "accept"},
    "/console/cases/{case_id}/actions": {"action": "accept"},
    "/api/v1/cases/{case_id}/shares": {"user_id": 1, "purpose": "repair"},
    "/console/cases/{case_id}/shares": {"user_id": "1", "purpose": "repair"},
    "/api/v1/duty/shifts/{shift_id}": {"note": "核对"},
    "/api/v1/patrol/plans/{plan_id}": {"name": "改个名字"},
    "/console/patrol/plans/{plan_id}": {"name": "改个名字", "every_minutes": "60", "cam": "yf-gate1-cam"},
    "/console/patrol/plans/{plan_id}/state": {"action": "pause"},
    "/console/flow/unread-plates/{unread_id}/read": {"plate": "豫A12345", "color": "blue", "direction": "in"},
    "/api/v1/unread-plates/{unread_id}/read": {"plate": "豫A12345", "color": "blue", "direction": "in"},
    "/api/v1/patrol/rounds/{round_id}/checks": {"device_id": "yf-gate1-cam", "answers": {"画面正常": True}},
    "/console/patrol/rounds/{round_id}/checks": {
        "device_id": "yf-gate1-cam",
        "items": "画面正常",
        "ok": "画面正常",
    },
}


def path_routes(app: FastAPI) -> Iterator[tuple[str, str, str]]:
    """`(method, path, parameter)` of every HTTP route with one id in its path."""
    for route in app.routes:
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for context in contexts:
            path = getattr(context, "path", "") or ""
            params = [p for p in re.findall(r"{(\w+)}", path) if p not in FIXED and p not in NOT_IDS]
            if not params or not getattr(context, "methods", None):
                continue
            assert len(params) == 1, path
            for method in sorted(context.methods - {"HEAD"}):
                yield method, path, params[0]


def fill(path: str, param: str, value: object) -> str:
    for fixed, fixed_value in FIXED.items():
        path = path.replace("{" + fixed + "}", fixed_value)
    return path.replace("{" + param + "}", str(value))


def scrub(response: httpx.Response, value: object) -> str:
    """The answer with the id itself replaced, so answers about two ids compare (a page is compared
    whole unless the id is a device's: its numbers are other rows' ids too)."""
    if isinstance(value, int) and not response.headers.get("content-type", "").startswith("application/json"):
        return response.text
    return re.sub(rf"(?<![\w-]){re.escape(str(value))}(?![\w-])", "ID", response.text)


class Caller:
    """One account calling the API with its bearer token and the console with its session."""

    def __init__(self, app: FastAPI, world: World, role: str) -> None:
        self.api = TestClient(app)
        self.api.headers.update(world.headers(role))
        self.console = TestClient(app)
        assert login(self.console, f"u-{role}", PASSWORD).status_code == 303
        self.csrf = csrf_token(self.console)

    def call(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        if path.startswith("/console/"):
            data = {**(body or {}), "csrf_token": self.csrf} if method != "GET" else None
            return self.console.request(method, path, data=data, follow_redirects=False)
        return self.api.request(method, path, json=body)


@pytest.fixture
def world(client: TestClient, sessions: sessionmaker[Session], vault: PiiVault, settings: Settings) -> World:
    built = build_world(sessions, vault)
    store_all(sessions, settings)  # an evidence snapshot `snap-1` of every camera
    return built


@pytest.mark.parametrize("role", ROLES)
def test_every_path_id_outside_scope_answers_as_a_missing_one(app: FastAPI, world: World, role: str) -> None:
    routes = list(path_routes(app))
    assert len(routes) > 15, routes
    differences: list[str] = []
    caller = Caller(app, world, role)
    for method, path, param in routes:
        assert param in OUTSIDE, f"{method} {path}: add out-of-scope candidates for {param!r} to OUTSIDE"
        missing_value = MISSING.get(param, MISSING_ID)
        missing = caller.call(method, fill(path, param, missing_value), BODIES.get(path))
        for key, outside_for in OUTSIDE[param]:
            if role not in outside_for:
                continue
            value = world.ids[key]
            existing = caller.call(method, fill(path, param, value), BODIES.get(path))
            seen, expected = scrub(existing, value), scrub(missing, missing_value)
            if existing.status_code != missing.status_code or seen != expected:
                at = next((i for i, (a, b) in enumerate(zip(seen, expected, strict=False)) if a != b), 0)
                differences.append(
                    f"{role} {method} {path} [{key}]: {existing.status_code} {seen[at - 80 : at + 80]!r}"
                    f" vs missing {missing.status_code} {expected[at - 80 : at + 80]!r}"
                )
    assert not differences, "\n".join(differences)


def resident_data(household_id: int, serial: int) -> dict[str, Any]:
    born = date(1958, 6, 1)
    return {
        "household_id": household_id, "name": "单雄信", "id_number": make_id(born, serial), "gender": "男",
        "birth_date": born.isoformat(), "relation": "户主", "residence_type": "常住",
    }  # fmt: skip


def guest(household_id: int) -> dict[str, Any]:
    now = utcnow()
    return {
        "household_id": household_id, "name": "张三", "phone": "13800001111",
        "valid_from": now.isoformat(), "valid_until": (now + timedelta(hours=4)).isoformat(),
    }  # fmt: skip


def isolation(person_id: int) -> dict[str, Any]:
    now = utcnow()
    ends = now + timedelta(days=7)
    return {
        "person_id": person_id, "starts_at": now.isoformat(), "ends_at": ends.isoformat(),
        "purpose": "居家隔离观察", "consent_recorded": True,
    }  # fmt: skip


def watch(community_id: object) -> dict[str, Any]:
    return {"community_id": community_id, "plate": "豫A99999", "reason": "协查"}


# Routes with the id in the body or the query: (method, path, the request for an id, param, candidates).
Request = Callable[[World, object], tuple[str, dict[str, Any] | None]]
BODY_IDS: list[tuple[str, Request, str]] = [
    ("POST", lambda _w, ref: ("/api/v1/passes/resident", {"person_id": ref}), "resident_id"),
    ("POST", lambda _w, ref: ("/api/v1/isolations", isolation(int(str(ref)))), "resident_id"),
    ("POST", lambda _w, ref: ("/api/v1/passes/revocations", {"ref": f"p:{ref}", "reason": "核对"}),
     "resident_id"),
    ("POST", lambda _w, ref: ("/api/v1/visitors", guest(int(str(ref)))), "household_id"),
    ("POST", lambda _w, ref: ("/api/v1/residents", resident_data(int(str(ref)), 301)), "household_id"),
    ("POST", lambda _w, ref: ("/api/v1/watch-plates", watch(ref)), "community_id"),
    ("GET", lambda _w, ref: (f"/api/v1/flow/today?compound_id={ref}", None), "compound_id"),
    ("GET", lambda _w, ref: (f"/api/v1/flow/today?gate_id={ref}", None), "gate_id"),
    ("POST", lambda _w, ref: ("/api/v1/passes/verify", {"token": "JY1.abc.def", "gate": ref}), "gate_code"),
    # list filters: an id outside the scope filters to nothing, as a missing one does
    ("GET", lambda _w, ref: (f"/api/v1/compounds?community_id={ref}", None), "community_id"),
    ("GET", lambda _w, ref: (f"/api/v1/grids?community_id={ref}", None), "community_id"),
    ("GET", lambda _w, ref: (f"/api/v1/buildings?compound_id={ref}", None), "compound_id"),
    ("GET", lambda _w, ref: (f"/api/v1/visitors?compound_id={ref}", None), "compound_id"),
    ("GET", lambda _w, ref: (f"/api/v1/visitors?household_id={ref}", None), "household_id"),
    ("GET", lambda _w, ref: (f"/api/v1/devices/dead-letters?device_id={ref}", None), "device_id"),
    ("PATCH", lambda w, ref: (f"/api/v1/residents/{w.ids['in_grid']}", {"household_id": ref}),
     "household_id"),
]  # fmt: skip
BODY_OUTSIDE: dict[str, list[tuple[str, frozenset[str]]]] = {
    **OUTSIDE,
    "community_id": [("elsewhere_community", EVERYONE)],
    "gate_code": [("gate_code_far", EVERYONE), ("gate_code_senhai", frozenset({"property"}))],
}
BODY_MISSING: dict[str, object] = {"gate_code": "NOPE-9", **MISSING}


def test_every_body_id_outside_scope_answers_as_a_missing_one(app: FastAPI, world: World) -> None:
    world.ids |= {"gate_code_far": "YF-1", "gate_code_senhai": "SH1-1"}
    differences: list[str] = []
    for role in ROLES:
        api = TestClient(app, headers=world.headers(role))
        for method, make, param in BODY_IDS:
            missing_value = BODY_MISSING.get(param, MISSING_ID)
            path, body = make(world, missing_value)
            missing = api.request(method, path, json=body)
            for key, outside_for in BODY_OUTSIDE[param]:
                if role not in outside_for:
                    continue
                value = world.ids[key]
                path, body = make(world, value)
                existing = api.request(method, path, json=body)
                seen, expected = scrub(existing, value), scrub(missing, missing_value)
                if existing.status_code != missing.status_code or seen != expected:
                    differences.append(
                        f"{role} {method} {path} [{key}]: {existing.status_code} {seen[:160]!r}"
                        f" vs missing {missing.status_code} {expected[:160]!r}"
                    )
    assert not differences, "\n".join(differences)
