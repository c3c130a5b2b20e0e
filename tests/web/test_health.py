"""The app starts on a migrated database and answers its health check."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_unknown_route_is_404_not_500(client: TestClient) -> None:
    assert client.get("/api/v1/no-such-thing").status_code == 404


def test_root_leads_to_the_console_and_then_to_login(client: TestClient) -> None:
    first = client.get("/", follow_redirects=False)
    assert (first.status_code, first.headers["location"]) == (303, "/console")
    assert "/login" in str(client.get("/").url)
