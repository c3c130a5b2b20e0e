"""A camera whose worker runs degraded says so in the console: on the camera tiles and the device page."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.devices.models import DeviceStatus
from jiayuan.devices.protocol import Topics
from jiayuan.devices.service.pipeline import Pipeline, RawMessage, accept_batch
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal, Role
from tests.accounts.helpers import login
from tests.factories import make_user, seed_site

CAMERA = "jjhy-gate1-cam"
PIPELINE = Pipeline(topics=Topics("t"))
SLOW = "近 30 秒每秒只分析了 3.1 帧，设定 5 帧（62%）"


def say_status(sessions: sessionmaker[Session], body: dict[str, object], at: datetime) -> None:
    """The camera's retained status, through the ingest as it arrives from the broker."""
    message = RawMessage("mqtt", PIPELINE.topics.status(CAMERA), json.dumps(body).encode(), at)
    with sessions() as session:
        accept_batch(session, actor=Principal.system(), messages=[message], pipeline=PIPELINE, now=at)
        session.commit()


def degraded(at: datetime) -> dict[str, object]:
    reasons = [
        {"code": "analysis_slow", "text": SLOW},
        {"code": "plates_off", "text": "车牌识别模型加载失败"},
    ]
    return {"v": 1, "state": "online", "ts": at.isoformat(), "health": "degraded", "reasons": reasons}


@pytest.fixture
def staff(client: TestClient, sessions: sessionmaker[Session]) -> TestClient:
    with sessions() as session:
        site = seed_site(session)
    make_user(sessions, "zhangwei", Role.STAFF, scopes=[f"community:{site.community_id}"])
    assert login(client, "zhangwei").status_code == 303
    return client


def test_the_ingest_keeps_the_newest_health_and_offline_clears_it(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    with sessions() as session:
        seed_site(session)
    say_status(sessions, degraded(now), now)
    with sessions() as session:
        row = session.get(DeviceStatus, CAMERA)
        assert row is not None and row.health == "degraded"
        assert row.health_reasons is not None and row.health_reasons[0] == {
            "code": "analysis_slow",
            "text": SLOW,
        }
    later = now + timedelta(seconds=5)
    say_status(sessions, {"v": 1, "state": "offline", "ts": later.isoformat()}, later)
    with sessions() as session:
        row = session.get(DeviceStatus, CAMERA)
        assert row is not None and (row.state, row.health, row.health_reasons) == ("offline", None, None)


def test_a_degraded_camera_shows_its_badge_and_reasons(
    staff: TestClient, sessions: sessionmaker[Session]
) -> None:
    now = utcnow()
    tiles = staff.get("/console/cameras")
    assert tiles.status_code == 200 and '<mark class="degraded" hidden>' in tiles.text
    say_status(sessions, degraded(now), now)
    tiles = staff.get("/console/cameras").text
    assert (
        '<mark class="degraded">降级运行</mark>' in tiles
        and "分析跟不上设定帧率" in tiles
        and SLOW in tiles
        and "车牌识别未运行" in tiles
    )
    devices = staff.get("/console/devices").text
    assert "降级运行" in devices and SLOW in devices
    polled = staff.get("/api/v1/cameras/health").json()
    assert list(polled) == [CAMERA]
    assert polled[CAMERA][0] == {"code": "analysis_slow", "label": "分析跟不上设定帧率", "text": SLOW}
    well = now + timedelta(seconds=5)
    say_status(sessions, {"v": 1, "state": "online", "ts": well.isoformat(), "health": "ok"}, well)
    assert '<mark class="degraded" hidden>' in staff.get("/console/cameras").text
    assert "降级运行" not in staff.get("/console/devices").text
    assert staff.get("/api/v1/cameras/health").json() == {}


def test_the_badge_and_the_reason_follow_the_english_switch(
    staff: TestClient, sessions: sessionmaker[Session]
) -> None:
    now = utcnow()
    say_status(sessions, degraded(now), now)
    staff.cookies.set("lang", "en")
    for page in ("/console/cameras", "/console/devices"):
        text = staff.get(page).text
        assert (
            "Degraded" in text
            and "Analysis below its set frame rate" in text
            and "Plate reading is off" in text
        )
        assert "降级运行" not in text
        assert SLOW in text  # the device's own words, with its figures, as it sent them
    assert staff.get("/api/v1/cameras/health").json()[CAMERA][1]["label"] == "Plate reading is off"
