"""The grid worker's phone (/m) over HTTP: only the worker's grid, actions through the cases service,
a resent action taken once, the installable shell served where its scope needs it."""

from __future__ import annotations

import io

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import User
from jiayuan.cases.models import Case, CaseStep
from jiayuan.cases.schemas import AlarmCase
from jiayuan.cases.service import reporting
from jiayuan.devices.service import snapshots
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import Building, Grid
from jiayuan.settings import Settings
from tests.devices.snapshot_helpers import jpeg
from tests.factories import Tree, add_grid, build_tree, make_user, seed_site, token_for


@pytest.fixture
def tree(db: Session) -> Tree:
    built = build_tree(db)
    add_grid(db, built.community.id, "第二网格", [built.b2])
    db.commit()
    return built


def bearer(sessions: sessionmaker[Session], name: str, role: Role, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(sessions, make_user(sessions, name, role, scopes=scopes))}"}


@pytest.fixture
def staff(sessions: sessionmaker[Session], tree: Tree) -> dict[str, str]:
    return bearer(sessions, "zhoumin", Role.STAFF, f"community:{tree.community.id}")


def grid_worker(
    db: Session, sessions: sessionmaker[Session], name: str, grid: str
) -> tuple[int, dict[str, str]]:
    """A grid worker as the demo makes them: scoped to one grid only."""
    grid_id = db.scalars(select(Grid.id).where(Grid.name == grid)).one()
    user_id = make_user(sessions, name, Role.GRID, scopes=[f"grid:{grid_id}"])
    return user_id, {"Authorization": f"Bearer {token_for(sessions, user_id)}"}


def new_case(client: TestClient, staff: dict[str, str], household_id: int, assignee: int | None) -> int:
    body = {"category": "repair", "title": "楼道灯不亮", "household_id": household_id}
    made = client.post("/api/v1/cases", json=body, headers=staff)
    assert made.status_code == 201, made.text
    case_id: int = made.json()["id"]
    if assignee is not None:
        for action in ("accept", "dispatch"):
            body = (
                {"action": action, "assignee_user_id": assignee}
                if action == "dispatch"
                else {"action": action}
            )
            done = client.post(f"/api/v1/cases/{case_id}/actions", json=body, headers=staff)
            assert done.status_code == 200, done.text
    return case_id


def act(
    client: TestClient, who: dict[str, str], case_id: int, action: str, request_id: str, note: str = ""
) -> httpx.Response:
    body = {"action": action, "note": note, "request_id": request_id}
    return client.post(f"/api/v1/m/cases/{case_id}/actions", json=body, headers=who)


def test_a_grid_worker_cannot_open_or_act_on_another_grids_case(
    client: TestClient, db: Session, sessions: sessionmaker[Session], tree: Tree, staff: dict[str, str]
) -> None:
    first_id, first = grid_worker(db, sessions, "wangwei", "第一网格")
    second_id, second = grid_worker(db, sessions, "lina", "第二网格")
    theirs = new_case(client, staff, tree.h201.id, second_id)  # 森海一期: the second grid
    mine = new_case(client, staff, tree.h101.id, first_id)

    listed = client.get("/api/v1/m/state", headers=first).json()
    assert [c["id"] for c in listed["cases"]] == [mine]
    for url in (f"/api/v1/m/cases/{theirs}", f"/api/v1/m/cases/{theirs + 1000}"):
        refused = client.get(url, headers=first)
        assert refused.status_code == 404 and refused.json()["detail"] == "事件不存在"
    for action in ("accept", "arrive", "handle"):
        refused = act(client, first, theirs, action, f"req-{action}-0001", note="已处理好")
        assert refused.status_code == 404 and refused.json()["detail"] == "事件不存在", refused.text
    assert client.get(f"/api/v1/m/cases/{theirs}", headers=second).json()["state"] == "dispatched"
    steps = db.scalars(select(CaseStep.action).where(CaseStep.case_id == theirs).order_by(CaseStep.id)).all()
    assert steps == ["report", "accept", "dispatch"]


def test_the_worker_takes_a_case_on_goes_on_site_and_handles_it_once(
    client: TestClient, db: Session, sessions: sessionmaker[Session], tree: Tree, staff: dict[str, str]
) -> None:
    worker_id, worker = grid_worker(db, sessions, "wangwei", "第一网格")
    unassigned = new_case(client, staff, tree.h101.id, None)
    listed = client.get("/api/v1/m/state", headers=worker).json()["cases"]
    assert [(c["id"], c["mine"], c["actions"]) for c in listed] == [(unassigned, False, [])]

    accepted_by_staff = new_case(client, staff, tree.h102.id, worker_id)
    shown = client.get(f"/api/v1/m/cases/{accepted_by_staff}", headers=worker).json()
    assert shown["mine"] and [a["verb"] for a in shown["actions"]] == ["arrive"]

    first = act(client, worker, accepted_by_staff, "arrive", "arrive-0001")
    assert first.status_code == 200 and first.json()["repeated"] is False
    again = act(client, worker, accepted_by_staff, "arrive", "arrive-0001")  # the answer was lost: resent
    assert again.status_code == 200 and again.json()["repeated"] is True
    no_note = act(client, worker, accepted_by_staff, "handle", "handle-0001")
    assert no_note.status_code == 422 and no_note.json() == {"detail": "请写明处置情况", "field": "note"}
    handled = act(client, worker, accepted_by_staff, "handle", "handle-0002", note="已更换灯泡")
    assert handled.status_code == 200 and handled.json()["case"]["state"] == "handled"
    steps = db.scalars(
        select(CaseStep.action).where(CaseStep.case_id == accepted_by_staff).order_by(CaseStep.id)
    ).all()
    assert steps == ["report", "accept", "dispatch", "arrive", "handle"]
    bad = act(client, worker, accepted_by_staff, "fly", "x")
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {"action", "request_id"}
    odd = act(client, worker, accepted_by_staff, "handle", "含有中文的编号-0001", note="已处理")
    assert odd.status_code == 422 and [e["field"] for e in odd.json()["errors"]] == ["request_id"]


def test_the_worker_accepts_a_case_the_roster_handed_them(
    client: TestClient, db: Session, sessions: sessionmaker[Session], tree: Tree, staff: dict[str, str]
) -> None:
    worker_id, worker = grid_worker(db, sessions, "wangwei", "第一网格")
    _, other = grid_worker(db, sessions, "zhaoli", "第一网格")
    case_id = new_case(client, staff, tree.h101.id, None)
    # The roster's choice, as dispatch on report makes it when the worker is on duty.
    db.get_one(Case, case_id).assignee_user_id = worker_id
    db.commit()
    assert act(client, other, case_id, "accept", "accept-0001").status_code == 403
    taken = act(client, worker, case_id, "accept", "accept-0002")
    assert taken.status_code == 200, taken.text
    assert taken.json()["case"]["state"] == "dispatched" and taken.json()["case"]["mine"]
    assert act(client, worker, case_id, "accept", "accept-0002").json()["repeated"] is True
    steps = db.scalars(select(CaseStep.action).where(CaseStep.case_id == case_id).order_by(CaseStep.id)).all()
    assert steps == ["report", "accept", "dispatch"]
    # The general API does not let a grid worker hand the case to someone else either.
    handing = {"action": "return", "note": "派错了"}
    assert client.post(f"/api/v1/cases/{case_id}/actions", json=handing, headers=worker).status_code == 403
    staff_id = db.scalars(select(User.id).where(User.username == "zhoumin")).one()
    case = db.get_one(Case, case_id)
    case.state = "accepted"
    db.commit()
    away = {"action": "dispatch", "assignee_user_id": staff_id}
    refused = client.post(f"/api/v1/cases/{case_id}/actions", json=away, headers=worker)
    assert refused.status_code == 403 and refused.json()["field"] == "assignee_user_id"
    db.refresh(case)
    assert case.assignee_user_id == worker_id
    case.state = "dispatched"
    db.commit()
    # Another press (a new request id) on a case already taken on says what the state allows.
    pressed = act(client, worker, case_id, "accept", "accept-0003")
    assert pressed.status_code == 409 and pressed.json()["detail"].startswith("事件处于“派遣”，不能受理")


def test_the_photo_from_the_phone_goes_with_the_step_once(
    client: TestClient, db: Session, sessions: sessionmaker[Session], tree: Tree, staff: dict[str, str]
) -> None:
    worker_id, worker = grid_worker(db, sessions, "wangwei", "第一网格")
    case_id = new_case(client, staff, tree.h101.id, worker_id)
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(picture, format="JPEG")
    uploaded = client.post(
        "/api/v1/cases/attachments",
        files={"file": ("photo.jpg", picture.getvalue(), "image/jpeg")},
        headers=worker,
    )
    assert uploaded.status_code == 201, uploaded.text
    photo = uploaded.json()["id"]
    body = {"action": "arrive", "note": "", "request_id": "arrive-photo-1", "attachment_ids": [photo]}
    for _ in range(2):
        sent = client.post(f"/api/v1/m/cases/{case_id}/actions", json=body, headers=worker)
        assert sent.status_code == 200, sent.text
    shown = client.get(f"/api/v1/cases/{case_id}", headers=staff).json()
    assert [s["action"] for s in shown["steps"]][-1] == "arrive"
    assert [len(s["attachments"]) for s in shown["steps"] if s["action"] == "arrive"] == [1]
    not_a_photo = client.post(
        "/api/v1/cases/attachments",
        files={"file": ("photo.jpg", b"not an image", "image/jpeg")},
        headers=worker,
    )
    assert not_a_photo.status_code == 422


def test_residents_police_and_the_screen_have_no_phone_face(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    resident = bearer(sessions, "liuying", Role.RESIDENT, f"household:{tree.h101.id}")
    police = bearer(sessions, "ma", Role.POLICE, f"community:{tree.community.id}")
    for who in (resident, police):
        refused = client.get("/api/v1/m/state", headers=who)
        assert refused.status_code == 403 and refused.json()["detail"] == "该角色没有网格员手机页"
        page = client.get("/m", headers=who)  # the page says it in a page
        assert page.status_code == 403 and "text/html" in page.headers["content-type"]
        assert "该角色没有网格员手机页" in page.text


def test_the_worker_and_manifest_are_served_for_the_phone_scope(client: TestClient) -> None:
    worker = client.get("/m/sw.js")
    assert worker.status_code == 200
    assert worker.headers["service-worker-allowed"] == "/m"
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    manifest = client.get("/m/manifest.webmanifest")
    assert manifest.headers["content-type"] == "application/manifest+json"
    assert manifest.json()["scope"] == "/m" and manifest.json()["start_url"] == "/m"
    for icon in manifest.json()["icons"]:
        assert client.get(icon["src"]).headers["content-type"] == "image/png"


def test_a_gate_cases_snapshot_reaches_the_grid_worker_it_concerns_only(
    client: TestClient, db: Session, sessions: sessionmaker[Session], settings: Settings
) -> None:
    site = seed_site(db)
    building = Building(compound_id=site.compound_id, name="1号楼")
    add_grid(db, site.community_id, "门岗网格", [building])
    add_grid(db, site.community_id, "别的网格")
    db.commit()
    _, worker = grid_worker(db, sessions, "wangwei", "门岗网格")
    _, other = grid_worker(db, sessions, "lina", "别的网格")
    files = SnapshotFiles(settings.var_dir)
    picture = jpeg(60)
    snapshot = snapshots.keep_picture(
        db, actor=Principal.system(), files=files, device_id="jjhy-gate1-cam", jpeg=picture, at=utcnow()
    )
    alarm = AlarmCase(
        alarm_id=1, type="tailgating", community_id=site.community_id, compound_id=site.compound_id,
        gate_id=site.gate_id, device_id="jjhy-gate1-cam", summary="1号门 疑似尾随",
        evidence={"snapshot": snapshot},
    )  # fmt: skip
    [case_id] = reporting.open_from_alarms(db, actor=Principal.system(), alarms=[alarm])
    db.commit()

    shown = client.get(f"/api/v1/m/cases/{case_id}", headers=worker).json()
    assert shown["snapshot_url"] == f"/api/v1/m/cases/{case_id}/snapshot.jpg"
    answer = client.get(shown["snapshot_url"], headers=worker)
    assert answer.status_code == 200 and answer.content == picture
    assert answer.headers["content-type"] == "image/jpeg"
    # The grid worker's scope covers no gate: the device's own address answers as if it had no picture.
    device_url = f"/api/v1/devices/jjhy-gate1-cam/snapshots/{snapshot}.jpg"
    assert client.get(device_url, headers=worker).status_code == 404
    refused = client.get(f"/api/v1/m/cases/{case_id}/snapshot.jpg", headers=other)
    assert refused.status_code == 404 and refused.json()["detail"] == "事件不存在"
