"""Stored evidence snapshots are served to signed-in users whose scope covers the gate, as the live
camera pictures are; another compound's or community's snapshot answers as a missing one."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.db.uow import unit_of_work
from jiayuan.devices.protocol import Topics
from jiayuan.devices.service import snapshots
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal, Role
from jiayuan.settings import Settings
from tests.access.test_flow_today import push
from tests.access.test_flow_today import setup as flow_setup
from tests.accounts.helpers import login
from tests.devices.snapshot_helpers import jpeg, snapshot_message
from tests.factories import make_user
from tests.web.test_scope_matrix import CAMERA_SCOPE, ROLES, build_world

# 锦江花园 (the property company's compound), 森海一期 (same community), 桐本南路社区 (another community).
CAMERAS = {"jjhy-gate1-cam": jpeg(40), "sh1-gate1-cam": jpeg(120), "yf-gate1-cam": jpeg(200)}
SEES = CAMERA_SCOPE  # evidence pictures follow the live camera's scope rule
REFUSED = {"resident": 403, "device": 403, "anonymous": 401}


def url(device_id: str, snapshot_id: str = "snap-1") -> str:
    return f"/api/v1/devices/{device_id}/snapshots/{snapshot_id}.jpg"


def store_all(sessions: sessionmaker[Session], settings: Settings) -> None:
    files = SnapshotFiles(settings.var_dir)
    with unit_of_work(sessions) as session:
        messages = [snapshot_message("jiayuan", d, "snap-1", data, utcnow()) for d, data in CAMERAS.items()]
        outcome = snapshots.accept_snapshots(
            session, actor=Principal.system(), messages=messages, topics=Topics("jiayuan"), files=files
        )
    assert not outcome.rejections


def test_snapshots_follow_the_camera_scope(
    client: TestClient, sessions: sessionmaker[Session], vault: PiiVault, settings: Settings
) -> None:
    world = build_world(sessions, vault)
    store_all(sessions, settings)
    wrong: list[str] = []
    for role in ROLES:
        headers = world.headers(role)
        missing = client.get(url("jjhy-gate9-cam"), headers=headers)
        for camera, picture in CAMERAS.items():
            answer = client.get(url(camera), headers=headers)
            if role in REFUSED:
                ok = answer.status_code == REFUSED[role]
            elif camera in SEES[role]:
                ok = (
                    answer.status_code == 200
                    and answer.content == picture
                    and answer.headers["content-type"] == "image/jpeg"
                    and answer.headers["cache-control"].startswith("private")
                    and answer.headers["x-content-type-options"] == "nosniff"
                )
            else:  # out of scope: the same 404 and message as a snapshot that was never stored
                ok = answer.status_code == missing.status_code == 404 and answer.json()[
                    "detail"
                ] == missing.json()["detail"].replace("jjhy-gate9-cam", camera)
            if not ok:
                wrong.append(f"{role} {camera}: {answer.status_code} {answer.text[:120]}")
    assert not wrong, "\n".join(wrong)


def test_a_grid_worker_of_another_community_sees_nothing_and_ids_are_checked(
    client: TestClient, sessions: sessionmaker[Session], vault: PiiVault, settings: Settings
) -> None:
    world = build_world(sessions, vault)
    store_all(sessions, settings)
    make_user(sessions, "grid-far", Role.GRID, scopes=[f"community:{world.ids['elsewhere_community']}"])
    assert login(client, "grid-far").status_code == 303
    here = client.get(url("jjhy-gate1-cam"))
    unknown = client.get(url("jjhy-gate1-cam", "snap-404"))
    assert here.status_code == unknown.status_code == 404
    assert here.json()["detail"] == unknown.json()["detail"].replace("snap-404", "snap-1")
    far = client.get(url("yf-gate1-cam"))  # the grid worker's own community: in scope, in the console too
    assert far.status_code == 200 and far.content == CAMERAS["yf-gate1-cam"]
    assert client.get(url("jjhy-gate1-cam", "..%2F..%2Fjiayuan")).status_code in (404, 422)
    assert client.get(url("jjhy-gate1-cam", "snap.1")).status_code == 422


def test_the_flow_feed_names_the_snapshot_of_a_plate_read_and_its_alarm(
    client: TestClient, sessions: sessionmaker[Session], settings: Settings
) -> None:
    site, tokens = flow_setup(sessions)
    picture = jpeg(77)
    with unit_of_work(sessions) as session:
        message = snapshot_message("jiayuan", "jjhy-gate1-plate", "snap-plate-1", picture, utcnow())
        snapshots.accept_snapshots(
            session,
            actor=Principal.system(),
            messages=[message],
            topics=Topics("jiayuan"),
            files=SnapshotFiles(settings.var_dir),
        )
    watch = {"community_id": site.community_id, "plate": "豫D12345", "reason": "协查通报"}
    staff = {"Authorization": f"Bearer {tokens['staff']}"}
    assert client.post("/api/v1/watch-plates", json=watch, headers=staff).status_code == 201
    read = {
        "plate": "豫D12345",
        "color": "blue",
        "confidence": 0.95,
        "direction": "in",
        "snapshot": "snap-plate-1",
    }
    push(client, tokens, "jjhy-gate1-plate", "plate_read", read)

    body = client.get(f"/api/v1/flow/today?compound_id={site.compound_id}", headers=staff).json()
    seen = next(m for m in body["feed"] if m["event"] == "access.vehicle_seen")
    assert (seen["device_id"], seen["snapshot"]) == ("jjhy-gate1-plate", "snap-plate-1")
    [alarm] = body["alarms"]
    assert (alarm["device_id"], alarm["evidence"]["snapshot"]) == ("jjhy-gate1-plate", "snap-plate-1")
    shown = client.get(url(seen["device_id"], seen["snapshot"]), headers=staff)
    assert shown.status_code == 200 and shown.content == picture
    outsider = {"Authorization": f"Bearer {tokens['outsider']}"}
    assert client.get(url(seen["device_id"], seen["snapshot"]), headers=outsider).status_code == 404


def test_refused_snapshots_show_on_the_device_page(
    client: TestClient, sessions: sessionmaker[Session], vault: PiiVault, settings: Settings
) -> None:
    world = build_world(sessions, vault)
    with unit_of_work(sessions) as session:
        bad = snapshot_message("jiayuan", "jjhy-gate1-cam", "snap-gif", b"GIF89a" + bytes(64), utcnow())
        snapshots.accept_snapshots(
            session,
            actor=Principal.system(),
            messages=[bad],
            topics=Topics("jiayuan"),
            files=SnapshotFiles(settings.var_dir),
        )
    make_user(sessions, "office", Role.STAFF, scopes=[f"community:{world.ids['community']}"])
    assert login(client, "office").status_code == 303
    page = client.get("/console/devices?reason=bad_snapshot")
    assert page.status_code == 200
    assert "抓拍图不是完整的 JPEG" in page.text and "not a JPEG" in page.text
