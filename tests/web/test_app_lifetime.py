"""An app a test built and dropped is freed: the test processes' heap does not grow with every test."""

from __future__ import annotations

import gc
import weakref

from fastapi.testclient import TestClient

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
