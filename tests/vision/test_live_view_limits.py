"""An MJPEG live view ends when the viewer's sign-in ends, and after its bounded length, even while
the camera keeps sending frames."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.service import users
from jiayuan.broker_link import parse_mqtt_url
from jiayuan.db.uow import unit_of_work
from jiayuan.devices.protocol import Topics
from jiayuan.kernel.principal import Principal, Role
from jiayuan.settings import Settings
from jiayuan.web.app import create_app
from tests.factories import make_user, seed_site, token_for

pytestmark = pytest.mark.mqtt
CAMERA = "jjhy-gate1-cam"
RECHECK_S = 0.3


def _app(settings: Settings, url: str, prefix: str, **update: object) -> TestClient:
    return TestClient(
        create_app(settings.model_copy(update={"mqtt_url": url, "mqtt_topic_prefix": prefix, **update}))
    )


def _camera_feed(url: str, prefix: str, stop: threading.Event) -> None:
    """A camera worker: a frame every 0.1 s until stopped (at most 30 s)."""
    target = parse_mqtt_url(url)
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    if target.username:
        client.username_pw_set(target.username, target.password)
    client.connect(target.host, target.port)
    client.loop_start()
    deadline = time.monotonic() + 30
    i = 0
    while not stop.is_set() and time.monotonic() < deadline:
        jpeg = cv2.imencode(".jpg", np.full((24, 32, 3), i % 255, dtype=np.uint8))[1].tobytes()
        client.publish(Topics(prefix).live(CAMERA), jpeg, qos=0)
        i += 1
        time.sleep(0.1)
    client.loop_stop()
    client.disconnect()


@pytest.fixture
def viewer(sessions: sessionmaker[Session]) -> tuple[int, str]:
    """A staff member of the camera's community and their bearer token."""
    with sessions() as session:
        site = seed_site(session)
    user_id = make_user(sessions, "zhangwei", Role.STAFF, scopes=[f"community:{site.community_id}"])
    return user_id, token_for(sessions, user_id)


def _watch(client: TestClient, token: str) -> Iterator[float]:
    """Yield the time of each chunk of the stream until the server ends it."""
    headers = {"Authorization": f"Bearer {token}"}
    with client.stream("GET", f"/api/v1/cameras/{CAMERA}/live.mjpeg", headers=headers) as stream:
        assert stream.status_code == 200
        for _ in stream.iter_bytes():
            yield time.monotonic()


def test_the_stream_ends_once_the_viewer_is_deactivated(
    settings: Settings, mqtt_url: str, prefix: str, sessions: sessionmaker[Session], viewer: tuple[int, str]
) -> None:
    user_id, token = viewer
    client = _app(settings, mqtt_url, prefix, stream_recheck_s=RECHECK_S)
    stop = threading.Event()
    with client:
        threading.Thread(target=_camera_feed, args=(mqtt_url, prefix, stop), daemon=True).start()
        deactivated_at = None
        try:
            for _ in _watch(client, token):
                if deactivated_at is None:  # the first frame: the viewer is now signed out
                    with unit_of_work(sessions) as session:
                        users.deactivate_user(session, actor=Principal.system(), user_id=user_id)
                    deactivated_at = time.monotonic()
            ended_at = time.monotonic()
        finally:
            stop.set()
    assert deactivated_at is not None, "no frame arrived"
    assert ended_at - deactivated_at < RECHECK_S + 3  # long before the feed stops (30 s)


def test_the_stream_has_a_bounded_length(
    settings: Settings, mqtt_url: str, prefix: str, sessions: sessionmaker[Session], viewer: tuple[int, str]
) -> None:
    _, token = viewer
    client = _app(settings, mqtt_url, prefix, mjpeg_max_s=1.5)
    stop = threading.Event()
    with client:
        threading.Thread(target=_camera_feed, args=(mqtt_url, prefix, stop), daemon=True).start()
        started = time.monotonic()
        try:
            chunks = list(_watch(client, token))
        finally:
            stop.set()
    assert chunks, "no frame arrived"
    assert time.monotonic() - started < 6  # 1.5 s of frames, then the page has to reconnect
