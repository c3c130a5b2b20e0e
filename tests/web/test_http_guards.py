"""Every HTTP answer carries the security headers; oversized bodies are refused unread; the API
documentation is for signed-in staff only, and off in production."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.kernel.principal import Role
from jiayuan.settings import Settings
from jiayuan.web.app import create_app
from tests.accounts.helpers import login
from tests.factories import make_user, token_for

EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def _page_paths(routes: list[Any]) -> list[str]:
    """The GET routes without path parameters, through included routers."""
    found: list[str] = []
    for route in routes:
        if isinstance(route, APIRoute):
            if "GET" in route.methods and "{" not in route.path:
                found.append(route.path)
        elif hasattr(route, "original_router"):
            found.extend(_page_paths(route.original_router.routes))
    return found


def _assert_secured(response: Any) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (response.url, name)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "strict-transport-security" not in response.headers  # plain http here


def test_every_page_and_error_carries_the_headers(
    app: FastAPI, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    make_user(sessions, "shuji", Role.ADMIN, scopes=["community:1"])
    # /docs and /redoc carry their own, looser policy (tested below), so they are left out here.
    paths = [p for p in _page_paths(app.routes) if p not in ("/docs", "/redoc")]
    assert "/console" in paths and "/login" in paths
    for path in [*paths, "/static/css/jiayuan.css", "/no-such-page"]:
        _assert_secured(client.get(path, follow_redirects=False))  # anonymous: pages, redirects, 401s
    login(client, "shuji")
    for path in paths:
        _assert_secured(client.get(path, follow_redirects=False))


def test_hsts_only_over_https(settings: Settings) -> None:
    with TestClient(create_app(settings), base_url="https://testserver") as secure:
        assert secure.get("/login").headers["strict-transport-security"].startswith("max-age=")
    with TestClient(create_app(settings), base_url="http://testserver") as plain:
        assert "strict-transport-security" not in plain.get("/login").headers


@pytest.fixture
def small_client(settings: Settings) -> Iterator[TestClient]:
    """The app with a 4 KiB cap on bodies and 8 KiB on the import route."""
    app = create_app(settings.model_copy(update={"max_body_bytes": 4096, "max_upload_bytes": 8192}))
    with TestClient(app) as client:
        yield client


def test_a_declared_oversized_body_is_refused_unread(small_client: TestClient) -> None:
    response = small_client.post("/login", content=b"x" * 5000, headers={"Content-Type": "text/plain"})
    assert response.status_code == 413
    assert "请求内容过大" in response.json()["detail"] and "4 KiB" in response.json()["detail"]
    assert response.json()["field"] == "body"
    _assert_secured(response)


def test_a_chunked_oversized_body_is_cut_off(
    small_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    headers = {"Authorization": f"Bearer {token_for(sessions, make_user(sessions, 'shuji', Role.ADMIN))}"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = small_client.post(
        "/api/v1/residents", content=chunks(), headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "请求内容过大" in response.json()["detail"]


def test_the_import_route_takes_a_larger_body(
    small_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    headers = {"Authorization": f"Bearer {token_for(sessions, make_user(sessions, 'shuji', Role.ADMIN))}"}
    files = {
        "file": ("r.xlsx", b"x" * 6000, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    }
    fits = small_client.post("/api/v1/residents/import", files=files, headers=headers)
    assert fits.status_code != 413  # over the general cap, under the import's: read and judged as a workbook
    files = {"file": ("r.xlsx", b"x" * 9000, "application/octet-stream")}
    assert small_client.post("/api/v1/residents/import", files=files, headers=headers).status_code == 413


def test_the_api_description_is_for_signed_in_staff(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    assert client.get("/openapi.json").status_code == 401
    assert client.get("/docs", follow_redirects=False).status_code == 303
    assert client.get("/redoc", follow_redirects=False).status_code == 303
    make_user(sessions, "jumin", Role.RESIDENT)
    resident = {
        "Authorization": f"Bearer {token_for(sessions, make_user(sessions, 'jumin2', Role.RESIDENT))}"
    }
    assert client.get("/openapi.json", headers=resident).status_code == 403
    login(client, "jumin")
    assert client.get("/docs").status_code == 403
    client.cookies.clear()
    make_user(sessions, "zhangwei", Role.STAFF, scopes=["community:1"])
    login(client, "zhangwei")
    assert client.get("/openapi.json").json()["info"]["title"].startswith("Jiayuan")
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert "cdn.jsdelivr.net" in docs.headers["content-security-policy"]  # the only page allowed a CDN


def test_in_production_the_documentation_pages_are_off(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    production = settings.model_copy(update={"env": "production"})
    staff = {"Authorization": f"Bearer {token_for(sessions, make_user(sessions, 'zhangwei', Role.STAFF))}"}
    with TestClient(create_app(production)) as client:
        assert client.get("/docs", headers=staff).status_code == 404
        assert client.get("/redoc", headers=staff).status_code == 404
        assert client.get("/openapi.json", headers=staff).status_code == 200
