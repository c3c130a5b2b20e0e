"""The live view: frames a worker publishes reach signed-in users in scope, and nobody else."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.broker_link import parse_mqtt_url
from jiayuan.devices.protocol import Topics
from jiayuan.kernel.principal import Role
from jiayuan.web.app import create_app
from tests.accounts.helpers import login
from tests.conftest import make_test_settings
from tests.factories import make_user, seed_site

pytestmark = pytest.mark.mqtt
CAMERA = "jjhy-gate1-cam"


@pytest.fixture
def live_client(
    database_url: str, mqtt_url: str, prefix: str, tmp_path: Path, sessions: sessionmaker[Session]
) -> Iterator[tuple[TestClient, str, str]]:
    """An app wired to the test broker under a private prefix; yields (client, broker URL, prefix)."""
    settings = make_test_settings(database_url, tmp_path).model_copy(
        update={"mqtt_url": mqtt_url, "mqtt_topic_prefix": prefix}
    )
    app = create_app(settings)
    with TestClient(app) as client:
        yield client, mqtt_url, prefix
    relay = getattr(app.state, "live_relay", None)
    assert relay is None or not relay._client.is_connected()  # the app's shutdown closed it


def publish_frames(url: str, prefix: str, device: str, count: int) -> bytes:
    """Publish `count` JPEG frames on a camera's live topic; returns the last one."""
    target = parse_mqtt_url(url)
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    if target.username:
        client.username_pw_set(target.username, target.password)
    client.connect(target.host, target.port)
    client.loop_start()
    jpeg = b""
    for i in range(count):
        image = np.full((48, 64, 3), 40 * i % 255, dtype=np.uint8)
        jpeg = cv2.imencode(".jpg", image)[1].tobytes()
        client.publish(Topics(prefix).live(device), jpeg, qos=1).wait_for_publish(5)
        time.sleep(0.15)
    client.loop_stop()
    client.disconnect()
    return jpeg


def test_staff_in_scope_watch_the_stream_and_snapshot(
    live_client: tuple[TestClient, str, str], sessions: sessionmaker[Session]
) -> None:
    client, url, prefix = live_client
    with sessions() as session:
        site = seed_site(session)
    make_user(sessions, "zhangwei", Role.STAFF, scopes=[f"community:{site.community_id}"])
    assert login(client, "zhangwei").status_code == 303
    page = client.get("/console/cameras")
    assert page.status_code == 200 and f"/api/v1/cameras/{CAMERA}/snapshot.jpg" in page.text
    single = client.get(f"/console/cameras/{CAMERA}")
    assert single.status_code == 200 and f"/api/v1/cameras/{CAMERA}/live.mjpeg" in single.text
    assert (
        client.get(f"/api/v1/cameras/{CAMERA}/snapshot.jpg").status_code == 404
    )  # relay starts, no frame yet
    assert client.app.state.live_relay.subscribed.wait(10)  # type: ignore[attr-defined]
    last = publish_frames(url, prefix, CAMERA, 3)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        shot = client.get(f"/api/v1/cameras/{CAMERA}/snapshot.jpg")
        if shot.status_code == 200 and shot.content == last:
            break
        time.sleep(0.1)
    assert shot.status_code == 200 and shot.headers["content-type"] == "image/jpeg" and shot.content == last
    with client.stream("GET", f"/api/v1/cameras/{CAMERA}/live.mjpeg?frames=1") as stream:
        assert stream.headers["content-type"].startswith("multipart/x-mixed-replace; boundary=")
        body = b"".join(stream.iter_bytes())
    assert body.startswith(b"--jiayuanframe\r\nContent-Type: image/jpeg") and last in body


def test_out_of_scope_unknown_and_anonymous_are_refused(
    live_client: tuple[TestClient, str, str], sessions: sessionmaker[Session]
) -> None:
    client, _, _ = live_client
    with sessions() as session:
        site = seed_site(session)
    assert client.get(f"/api/v1/cameras/{CAMERA}/snapshot.jpg").status_code == 401
    assert client.get("/console/cameras", follow_redirects=False).status_code == 303
    make_user(sessions, "other", Role.STAFF, scopes=[f"community:{site.other_community_id}"])
    assert login(client, "other").status_code == 303
    # another community's camera answers exactly as an unknown one
    nope = client.get("/api/v1/cameras/nope/snapshot.jpg")
    assert nope.status_code == 404
    for tail in ("snapshot.jpg", "live.mjpeg?frames=1"):
        theirs = client.get(f"/api/v1/cameras/{CAMERA}/{tail}")
        assert theirs.status_code == 404
        assert theirs.json() == {**nope.json(), "detail": nope.json()["detail"].replace("nope", CAMERA)}
    assert client.get("/api/v1/cameras/jjhy-gate1-qr/snapshot.jpg").status_code == 404  # not a camera
    assert client.get(f"/api/v1/cameras/{CAMERA}/live.mjpeg?frames=0").status_code == 422
    assert CAMERA not in client.get("/console/cameras").text
    assert client.get(f"/console/cameras/{CAMERA}").status_code == 404
    assert client.get("/console/cameras/nope").status_code == 404


def test_residents_may_not_watch(
    live_client: tuple[TestClient, str, str], sessions: sessionmaker[Session]
) -> None:
    client, _, _ = live_client
    with sessions() as session:
        seed_site(session)
    make_user(sessions, "jumin", Role.RESIDENT)
    login(client, "jumin")
    assert client.get(f"/api/v1/cameras/{CAMERA}/snapshot.jpg").status_code == 403


def test_without_a_broker_the_live_view_says_so(client: TestClient, sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        site = seed_site(session)
    make_user(sessions, "zhangwei", Role.STAFF, scopes=[f"community:{site.community_id}"])
    login(client, "zhangwei")
    response = client.get(f"/api/v1/cameras/{CAMERA}/snapshot.jpg")
    assert response.status_code == 404 and "MQTT" in response.json()["detail"]
    assert client.get(f"/api/v1/cameras/{CAMERA}/live.mjpeg").status_code == 404
