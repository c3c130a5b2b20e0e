"""The big screen's stream and state: gate events and case changes of the screen's communities only,
for the roles that see a community's cases whole; nothing for a grid worker or another community."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.bus.hub import hub
from jiayuan.kernel.principal import Role
from tests.factories import make_user, token_for
from tests.web.test_stream_guards import _Reader

pytestmark = pytest.mark.usefixtures("real_commits")
WS = "/ws/v1/screen"


def test_only_whole_community_readers_open_the_screen_stream(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    grid = token_for(sessions, make_user(sessions, "wangge", Role.GRID, scopes=["community:1", "grid:1"]))
    with client.websocket_connect(f"{WS}?token={grid}") as ws:
        assert _Reader(ws).next(5) == {"type": "websocket.close", "code": 4403, "reason": "forbidden"}
    resident = token_for(sessions, make_user(sessions, "jumin", Role.RESIDENT, scopes=["community:1"]))
    assert (
        client.get("/api/v1/screen/state", headers={"Authorization": f"Bearer {resident}"}).status_code == 403
    )


def test_the_screen_hears_its_communitys_case_changes_and_no_others(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    screen = token_for(sessions, make_user(sessions, "daping", Role.SCREEN, scopes=["community:1"]))
    with client.websocket_connect(f"{WS}?token={screen}") as ws:
        reader = _Reader(ws)
        time.sleep(0.3)  # subscribed
        changed = {
            "event": "cases.changed",
            "case_id": 7,
            "state": "accepted",
            "action": "accept",
            "level": 0,
        }
        hub.publish([changed | {"community_id": 2}, changed | {"community_id": 1, "case_id": 8}])
        message = reader.next(5)
        assert message is not None and '"case_id":8' in message["text"].replace(" ", "")
        assert reader.next(0.5) is None
    state = client.get("/api/v1/screen/state", headers={"Authorization": f"Bearer {screen}"})
    assert state.status_code == 200
    assert set(state.json()) >= {"plan", "gates", "chart", "alarms", "case_counts", "open_cases", "cameras"}
