"""A date outside 1900–2999 anywhere a route takes one is a 422 naming the field, never a 500, and
nothing stored with such a date can break a page later.

The walk covers every route with a date or date-time query parameter and every JSON body property the
OpenAPI schema declares as a date or date-time, at both ends of the calendar.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.kernel.principal import Role
from tests.accounts.helpers import login
from tests.factories import make_user, token_for
from tests.web.test_huge_integers import _api_routes

ABSURD = {
    "date": ["9999-12-31", "0001-01-01", "1899-12-31", "3000-01-01"],
    "date-time": ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+08:00", "2999-12-31T23:00:00-05:00"],
}


def _kind(annotation: Any) -> str | None:
    args = (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType)
        else ()
    )
    for candidate in (annotation, *args):
        base = (
            typing.get_args(candidate)[0] if typing.get_origin(candidate) is typing.Annotated else candidate
        )
        if base is datetime:
            return "date-time"
        if base is date:
            return "date"
    return None


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def admin_headers(sessions: sessionmaker[Session]) -> dict[str, str]:
    user_id = make_user(sessions, "shuji", Role.ADMIN, scopes=["community:1"])
    return {"Authorization": f"Bearer {token_for(sessions, user_id)}"}


def test_every_date_query_parameter_is_bounded(
    app: FastAPI, client: TestClient, admin_headers: dict[str, str]
) -> None:
    found = []
    for route in _api_routes(app.routes):
        for param in route.dependant.query_params:
            kind = _kind(param.field_info.annotation)
            if kind:
                found.append((sorted(route.methods)[0], route.path, param.name, kind))
    assert len(found) >= 3  # the walk found the routes
    failures = []
    for method, path, name, kind in found:
        url = re.sub(r"\{[^}]+\}", "1", path)  # any id: the input is validated before it is looked up
        for value in ABSURD[kind]:
            response = client.request(method, url, params={name: value}, headers=admin_headers)
            if response.status_code != 422 or name not in response.text:
                failures.append(
                    f"{method} {path} {name}={value}: {response.status_code} {response.text[:200]}"
                )
    assert not failures, "\n".join(failures)


def test_every_date_body_field_is_bounded(
    app: FastAPI, client: TestClient, admin_headers: dict[str, str]
) -> None:
    schema = app.openapi()
    components = schema.get("components", {}).get("schemas", {})
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = body.get("schema", {}).get("$ref", "")
            model = components.get(ref.rsplit("/", 1)[-1], {}) if ref else {}
            for prop, spec in model.get("properties", {}).items():
                formats = [spec.get("format")] + [s.get("format") for s in spec.get("anyOf", [])]
                kind = next((f for f in formats if f in ABSURD), None)
                if kind:
                    found.append((method.upper(), path, prop, kind))
    assert len(found) >= 6
    failures = []
    for method, path, prop, kind in found:
        url = re.sub(r"\{[^}]+\}", "1", path)  # any id: the input is validated before it is looked up
        for value in ABSURD[kind]:
            response = client.request(method, url, json={prop: value}, headers=admin_headers)
            errors = response.json().get("errors", []) if response.status_code == 422 else []
            if not any(e["field"] == prop for e in errors):
                failures.append(
                    f"{method} {path} {prop}={value}: {response.status_code} {response.text[:300]}"
                )
    assert not failures, "\n".join(failures)


def test_the_console_filters_answer_an_absurd_date_in_chinese(
    client: TestClient, sessions: sessionmaker[Session], admin_headers: dict[str, str]
) -> None:
    assert login(client, "shuji").status_code == 303
    for url in (
        "/console/visitors?on=9999-12-31",
        "/console/audit?since=0001-01-01",
        "/console/audit?until=9999-12-31",
    ):
        response = client.get(url)
        assert response.status_code == 422, (url, response.status_code, response.text[:300])
        assert "Traceback" not in response.text
