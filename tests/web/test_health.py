"""The app starts on a migrated database and answers its health check."""

from __future__ import annotations

import socket

from fastapi.testclient import TestClient

from jiayuan.settings import Settings
from jiayuan.web.app import create_app


def test_healthz_without_a_broker_has_no_ingest_to_report(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "ingest": {"state": "not_configured"}}


def test_healthz_of_a_web_app_whose_ingest_runs_separately(settings: Settings, client: TestClient) -> None:
    # The lifespan is not entered: the broker links it would start are not what this checks.
    app = create_app(settings.model_copy(update={"mqtt_url": "mqtt://platform:secret@10.0.0.5:1883"}))
    response = TestClient(app).get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "ingest": {"state": "separate"}})
    assert "secret" not in response.text and "10.0.0.5" not in response.text


def test_healthz_is_503_without_naming_the_database_when_it_does_not_answer(settings: Settings) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = f"postgresql://jiayuan:hunter2@127.0.0.1:{port}/jiayuan"
    app = create_app(settings.model_copy(update={"database_url": unreachable}))
    response = TestClient(app).get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"
    assert "hunter2" not in response.text and str(port) not in response.text


def test_unknown_route_is_404_not_500(client: TestClient) -> None:
    assert client.get("/api/v1/no-such-thing").status_code == 404


def test_root_leads_to_the_console_and_then_to_login(client: TestClient) -> None:
    first = client.get("/", follow_redirects=False)
    assert (first.status_code, first.headers["location"]) == (303, "/console")
    assert "/login" in str(client.get("/").url)
