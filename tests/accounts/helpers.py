"""Signing in over HTTP as a browser would (users come from tests/factories.py)."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

from tests.factories import PASSWORD


def login(
    client: TestClient, username: str, password: str = PASSWORD, next_url: str = "/console"
) -> httpx.Response:
    """Sign in through the login form as a browser would (the form's CSRF cookie included)."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    return client.post(
        "/login",
        data={"username": username, "password": password, "next": next_url, "csrf_token": token.group(1)},
        follow_redirects=False,
    )


def csrf_token(client: TestClient) -> str:
    """The session's CSRF token as the pages carry it (meta tag)."""
    page = client.get("/console")
    found = re.search(r'<meta name="csrf-token" content="([^"]*)">', page.text)
    assert found and found.group(1), page.text
    return found.group(1)
