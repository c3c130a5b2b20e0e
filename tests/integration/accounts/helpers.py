"""Helpers shared by the accounts tests: real users through the service, real logins over HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterable

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts import service
from jiayuan.accounts.schemas import parse_scope
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.principal import Principal, Role

PASSWORD = "correct-horse-42"


def make_user(
    sessions: sessionmaker[Session],
    username: str,
    role: Role,
    *,
    scopes: Iterable[str] = (),
    password: str | None = PASSWORD,
) -> int:
    """Create a user through the service (as the system) and return its id."""
    with unit_of_work(sessions) as session:
        user = service.create_user(
            session,
            actor=Principal.system(),
            username=username,
            display_name=username,
            role=role,
            password=password,
            scopes=[parse_scope(s) for s in scopes],
        )
        return user.id


def token_for(sessions: sessionmaker[Session], user_id: int, name: str = "测试") -> str:
    """A bearer token for a user, issued by the system."""
    with unit_of_work(sessions) as session:
        return service.issue_api_token(session, actor=Principal.system(), user_id=user_id, name=name)


def device_token(sessions: sessionmaker[Session], device_id: str) -> str:
    """A bearer token for a device, issued by the system."""
    with unit_of_work(sessions) as session:
        return service.issue_api_token(session, actor=Principal.system(), device_id=device_id, name="网关")


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


__all__ = ["PASSWORD", "csrf_token", "device_token", "login", "make_user", "token_for"]
