"""A dropped app is freed and a new app costs little: the test processes stay small and quick."""

from __future__ import annotations

import gc
import weakref

from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from jiayuan.settings import Settings
from jiayuan.web.app import create_app
from tests.lifetime import forget_built_apps


def test_a_dropped_app_is_freed(settings: Settings) -> None:
    def build_and_use() -> weakref.ref[object]:
        app = create_app(settings)
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
        return weakref.ref(app)

    dropped = build_and_use()
    forget_built_apps()
    gc.collect()
    assert dropped() is None


def test_a_new_app_reuses_the_routes_built_at_import(settings: Settings) -> None:
    # An included router's routes are rebuilt, dependencies and all, on each new app's first request.
    first, second = create_app(settings), create_app(settings)
    kinds = {type(route) for route in first.routes}
    assert kinds <= {APIRoute, APIWebSocketRoute, Mount}, kinds
    shared = {id(route.endpoint): route for route in first.routes if isinstance(route, APIRoute)}
    again = [r for r in second.routes if isinstance(r, APIRoute) and shared.get(id(r.endpoint)) is r]
    assert len(again) > 150
