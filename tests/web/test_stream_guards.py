"""The access WebSocket: opened only from this site, and closed once its sign-in stops being valid."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from jiayuan.accounts.service import tokens, users
from jiayuan.accounts.service.sessions import end_session
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.principal import Principal, Role
from jiayuan.settings import Settings
from jiayuan.web.app import create_app
from tests.accounts.helpers import login
from tests.factories import make_user, token_for

# The streams work beside the test, on connections of their own.
pytestmark = pytest.mark.usefixtures("real_commits")
RECHECK_S = 0.2
WS = "/ws/v1/access"


@pytest.fixture
def quick_client(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    """The app re-checking open streams every 0.2 s."""
    with TestClient(create_app(settings.model_copy(update={"stream_recheck_s": RECHECK_S}))) as client:
        yield client


class _Reader:
    """Reads the socket on one thread, so a test can wait for the next message with a timeout."""

    def __init__(self, ws: WebSocketTestSession) -> None:
        self._messages: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._run, args=(ws,), daemon=True).start()

    def _run(self, ws: WebSocketTestSession) -> None:
        with contextlib.suppress(Exception):  # the socket goes away with the test
            while True:
                message = ws.receive()
                self._messages.put(message)
                if message["type"] == "websocket.close":
                    return

    def next(self, timeout: float) -> dict[str, Any] | None:
        """What the server sends next, or None when nothing comes within the timeout."""
        try:
            return self._messages.get(timeout=timeout)
        except queue.Empty:
            return None


def _staff(sessions: sessionmaker[Session]) -> int:
    return make_user(sessions, "zhangwei", Role.STAFF, scopes=["community:1"])


def test_the_stream_closes_when_the_account_is_deactivated(
    quick_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    user_id = _staff(sessions)
    token = token_for(sessions, user_id)
    with quick_client.websocket_connect(f"{WS}?token={token}") as ws:
        reader = _Reader(ws)
        assert reader.next(RECHECK_S * 3) is None  # open and quiet while the account is live
        with unit_of_work(sessions) as session:
            users.deactivate_user(session, actor=Principal.system(), user_id=user_id)
        message = reader.next(5)
        assert message == {"type": "websocket.close", "code": 4401, "reason": "signed out"}


def test_the_stream_closes_when_its_token_is_revoked(
    quick_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    user_id = _staff(sessions)
    with unit_of_work(sessions) as session:
        issued = tokens.create_api_token(session, actor=Principal.system(), name="大屏", user_id=user_id)
    with quick_client.websocket_connect(WS, headers={"Authorization": f"Bearer {issued.token}"}) as ws:
        reader = _Reader(ws)
        assert reader.next(RECHECK_S * 3) is None
        with unit_of_work(sessions) as session:
            tokens.revoke_api_token(session, actor=Principal.system(), token_id=issued.id)
        message = reader.next(5)
        assert message is not None and message.get("code") == 4401


def test_the_stream_closes_when_the_session_ends(
    quick_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _staff(sessions)
    assert login(quick_client, "zhangwei").status_code == 303
    cookie = quick_client.cookies["jiayuan_session"]
    with quick_client.websocket_connect(WS) as ws:
        reader = _Reader(ws)
        assert reader.next(RECHECK_S * 3) is None
        with unit_of_work(sessions) as session:
            end_session(session, cookie=cookie)
        message = reader.next(5)
        assert message is not None and message.get("code") == 4401


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://testserver", True),
        ("https://testserver", True),
        ("http://evil.example", False),
        ("http://testserver.evil.example", False),
        ("null", False),
    ],
)
def test_a_browser_may_open_the_stream_only_from_this_site(
    client: TestClient, sessions: sessionmaker[Session], origin: str, allowed: bool
) -> None:
    _staff(sessions)
    assert login(client, "zhangwei").status_code == 303
    with client.websocket_connect(WS, headers={"Origin": origin}) as ws:
        reader = _Reader(ws)
        message = reader.next(0.5)
    if allowed:
        assert message is None  # open, waiting for events
    else:
        assert message == {"type": "websocket.close", "code": 4403, "reason": "origin not allowed"}


def test_the_configured_public_origin_is_accepted(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    app = create_app(settings.model_copy(update={"public_origin": "https://jiayuan.example.cn"}))
    token = token_for(sessions, _staff(sessions))
    with (
        TestClient(app) as client,
        client.websocket_connect(
            f"{WS}?token={token}", headers={"Origin": "https://jiayuan.example.cn"}
        ) as ws,
    ):
        reader = _Reader(ws)
        assert reader.next(0.5) is None


def test_a_client_without_origin_connects_with_a_bearer_token(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    token = token_for(sessions, _staff(sessions))
    with client.websocket_connect(WS, headers={"Authorization": f"Bearer {token}"}) as ws:
        reader = _Reader(ws)
        assert reader.next(0.5) is None


def test_an_anonymous_client_is_still_refused(client: TestClient) -> None:
    with client.websocket_connect(WS) as ws, pytest.raises(WebSocketDisconnect) as refused:
        ws.receive_text()
    assert refused.value.code == 4401
