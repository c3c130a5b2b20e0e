"""A dropped app is freed and a new app costs little: the test processes stay small and quick."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import Mount

from jiayuan.settings import Settings
from jiayuan.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]


# In a fresh interpreter: what earlier tests of a worker left in module-level state must not decide it.
DROP_AN_APP = """
import gc, sys, time, weakref
from pathlib import Path
from fastapi.testclient import TestClient
from jiayuan.web.app import create_app
from tests.conftest import make_test_settings
from tests.lifetime import forget_built_apps

def build_and_use():
    app = create_app(make_test_settings(sys.argv[1], Path(sys.argv[2])))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
    return weakref.ref(app)

dropped = build_and_use()
forget_built_apps()
# The client's event-loop thread may still be winding down, its frames holding the app for a moment.
for _ in range(100):
    gc.collect()
    if dropped() is None:
        sys.exit(0)
    time.sleep(0.05)
sys.exit(3)
"""


def test_a_dropped_app_is_freed(tmp_path: Path) -> None:
    # Its own database: a second process on a test worker's SQLite file would disturb the worker's.
    url = f"sqlite:///{tmp_path / 'app.db'}"
    script = tmp_path / "drop_an_app.py"
    script.write_text(DROP_AN_APP)
    result = subprocess.run(
        [sys.executable, str(script), url, str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])


def test_a_new_app_reuses_the_routes_built_at_import(settings: Settings) -> None:
    # An included router's routes are rebuilt, dependencies and all, on each new app's first request.
    first, second = create_app(settings), create_app(settings)
    kinds = {type(route) for route in first.routes}
    assert kinds <= {APIRoute, APIWebSocketRoute, Mount}, kinds
    shared = {id(route.endpoint): route for route in first.routes if isinstance(route, APIRoute)}
    again = [r for r in second.routes if isinstance(r, APIRoute) and shared.get(id(r.endpoint)) is r]
    assert len(again) > 150
