"""An absurd integer anywhere a route takes one is a 422 naming the field, never a database error.

The walk covers every route (API and pages) with an integer path or query parameter, and every JSON
body property the OpenAPI schema declares as an integer.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.kernel.principal import Role
from tests.factories import make_user, token_for

HUGE = "99999999999999999999"


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return int in typing.get_args(annotation)
    return False


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every route, through included routers (their paths carry the router's prefix already)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(_api_routes(route.original_router.routes))
    return found


def _int_params(app: FastAPI) -> list[tuple[str, str, str, str]]:
    """(method, path template, parameter, "path"/"query") for every integer parameter of every route."""
    found = []
    for route in _api_routes(app.routes):
        method = sorted(route.methods)[0]
        for where, params in (("path", route.dependant.path_params), ("query", route.dependant.query_params)):
            for param in params:
                if _is_int(param.field_info.annotation):
                    found.append((method, route.path, param.name, where))
    return found


def _url(app: FastAPI, path: str, name: str, where: str) -> str:
    route = next(r for r in _api_routes(app.routes) if r.path == path)
    values = {}
    for param in route.dependant.path_params:
        values[param.name] = (
            HUGE if param.name == name else ("1" if _is_int(param.field_info.annotation) else "x")
        )
    url = path.format(**values)
    return f"{url}?{name}={HUGE}" if where == "query" else url


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client that sees a server error as the 500 a browser would get."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def admin_headers(sessions: sessionmaker[Session]) -> dict[str, str]:
    user_id = make_user(sessions, "shuji", Role.ADMIN, scopes=["community:1"])
    return {"Authorization": f"Bearer {token_for(sessions, user_id)}"}


@pytest.fixture
def resident_headers(sessions: sessionmaker[Session]) -> dict[str, str]:
    user_id = make_user(sessions, "jumin", Role.RESIDENT, scopes=["community:1", "household:1", "person:1"])
    return {"Authorization": f"Bearer {token_for(sessions, user_id)}"}


def test_every_integer_parameter_is_bounded(
    app: FastAPI, client: TestClient, admin_headers: dict[str, str], resident_headers: dict[str, str]
) -> None:
    params = _int_params(app)
    assert len(params) > 10  # the walk found the routes
    failures = []
    for method, path, name, where in params:
        # The resident's pages answer other roles "for residents only" before reading any id.
        headers = resident_headers if path.startswith(("/h5", "/api/v1/h5")) else admin_headers
        response = client.request(method, _url(app, path, name, where), headers=headers)
        refused = 400 if path.startswith("/open311/") else 422  # the GeoReport v2 error code for bad input
        if response.status_code != refused or name not in response.text:
            failures.append(f"{method} {path} {where} {name}: {response.status_code} {response.text[:200]}")
    assert not failures, "\n".join(failures)


def _integer_body_fields(app: FastAPI) -> list[tuple[str, str, str]]:
    """(method, path, property) for each integer property of each JSON request body."""
    schema = app.openapi()
    components = schema.get("components", {}).get("schemas", {})
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = body.get("schema", {}).get("$ref", "")
            model = components.get(ref.rsplit("/", 1)[-1], {}) if ref else {}
            for prop, spec in model.get("properties", {}).items():
                kinds = [spec.get("type")] + [s.get("type") for s in spec.get("anyOf", [])]
                if "integer" in kinds:
                    found.append((method.upper(), path, prop))
    return found


def test_every_integer_body_field_is_bounded(
    app: FastAPI, client: TestClient, admin_headers: dict[str, str]
) -> None:
    fields = _integer_body_fields(app)
    assert fields
    failures = []
    for method, path, prop in fields:
        url = path.replace("{", "").replace("}", "")  # any path value: the body is validated with it
        for value in (int(HUGE), -int(HUGE)):
            response = client.request(method, url, json={prop: value}, headers=admin_headers)
            errors = response.json().get("errors", []) if response.status_code == 422 else []
            if not any(e["field"] == prop for e in errors):
                failures.append(
                    f"{method} {path} {prop}={value}: {response.status_code} {response.text[:200]}"
                )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "url",
    ["/api/v1/residents?page=99999999999999999999", "/api/v1/residents/99999999999999999999"],
)
def test_the_examples_of_the_report_answer_in_chinese(
    client: TestClient, admin_headers: dict[str, str], url: str
) -> None:
    response = client.get(url, headers=admin_headers)
    assert response.status_code == 422
    assert "输入有误" in response.json()["detail"]


def test_a_non_finite_number_in_a_body_is_a_422(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/residents",
        content=b'{"household_id": 1e400, "name": "x"}',
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert any(e["field"] == "household_id" for e in response.json()["errors"])
