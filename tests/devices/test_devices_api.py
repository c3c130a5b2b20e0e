"""HTTP push with device tokens, and the dead-letter and status API for staff."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service.tokens import issue_api_token
from jiayuan.accounts.service.users import create_user
from jiayuan.devices.models import DeadLetter, DeviceEvent
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal, Role
from tests.devices.helpers import envelope
from tests.factories import Site, seed_site

HB = {"uptime_s": 5, "fw": "1.0"}


def tokens(sessions: sessionmaker[Session]) -> tuple[Site, dict[str, str]]:
    with sessions() as session:
        site = seed_site(session)
        system = Principal.system()
        result = {
            device: issue_api_token(session, actor=system, name=device, device_id=device)
            for device in ("jjhy-gate1-qr", "jjhy-gate2-qr", "jjhy-old-qr")
        }
        staff = create_user(
            session,
            actor=system,
            username="staff1",
            display_name="王",
            role=Role.STAFF,
            scopes=[(ScopeKind.COMMUNITY, site.community_id)],
        )
        resident = create_user(session, actor=system, username="res1", display_name="李", role=Role.RESIDENT)
        session.flush()
        result["staff"] = issue_api_token(session, actor=system, name="t", user_id=staff.id)
        result["resident"] = issue_api_token(session, actor=system, name="t", user_id=resident.id)
        session.commit()
    return site, result


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def test_a_device_pushes_its_own_events_once(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, tok = tokens(sessions)
    raw = envelope("jjhy-gate1-qr", "heartbeat", HB, ts=utcnow())
    url = "/api/v1/devices/jjhy-gate1-qr/events"
    first = client.post(url, content=raw, headers=bearer(tok["jjhy-gate1-qr"]))
    again = client.post(url, content=raw, headers=bearer(tok["jjhy-gate1-qr"]))
    assert (first.status_code, first.json()["result"]) == (202, "accepted")
    assert (again.status_code, again.json()["result"]) == (200, "duplicate")
    reused = json.loads(raw) | {"payload": {**HB, "uptime_s": 6}}
    conflict = client.post(url, content=json.dumps(reused), headers=bearer(tok["jjhy-gate1-qr"]))
    assert (conflict.status_code, conflict.json()["reason"]) == (422, "id_conflict")
    page = client.get("/console/devices?reason=id_conflict", headers=bearer(tok["staff"]))
    assert "编号冲突" in page.text and f"id {json.loads(raw)['id']} is already stored" in page.text
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DeviceEvent)) == 1


def test_push_refuses_strangers_and_other_devices(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, tok = tokens(sessions)
    raw = envelope("jjhy-gate1-qr", "heartbeat", HB, ts=utcnow())
    url = "/api/v1/devices/jjhy-gate1-qr/events"
    assert client.post(url, content=raw).status_code == 401
    assert client.post(url, content=raw, headers=bearer("jyd_nonsense")).status_code == 401
    assert client.post(url, content=raw, headers=bearer(tok["jjhy-gate2-qr"])).status_code == 403
    assert client.post(url, content=raw, headers=bearer(tok["staff"])).status_code == 403
    assert (
        client.post("/api/v1/devices/bad id!/events", content=raw, headers=bearer(tok["staff"])).status_code
        == 422
    )
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(DeviceEvent)) == 0


def test_bad_pushes_become_dead_letters_not_errors(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, tok = tokens(sessions)
    headers = bearer(tok["jjhy-gate1-qr"])
    url = "/api/v1/devices/jjhy-gate1-qr/events"
    cases = {
        "bad_json": b"{oops",
        "bad_envelope": b"[]",
        "topic_mismatch": envelope("jjhy-gate2-qr", "heartbeat", HB, ts=utcnow()),
        "bad_payload": envelope("jjhy-gate1-qr", "heartbeat", {"fw": 3}, ts=utcnow()),
        "too_large": envelope("jjhy-gate1-qr", "heartbeat", {**HB, "fw": "x" * 100_000}, ts=utcnow()),
    }
    for reason, body in cases.items():
        response = client.post(url, content=body, headers=headers)
        assert response.status_code == 422, reason
        assert response.json()["reason"] == reason
    old = client.post(
        "/api/v1/devices/jjhy-old-qr/events",
        content=envelope("jjhy-old-qr", "heartbeat", HB, ts=utcnow()),
        headers=bearer(tok["jjhy-old-qr"]),
    )
    assert old.json()["reason"] == "revoked_device"
    with sessions() as session:
        big = session.scalars(select(DeadLetter).where(DeadLetter.reason == "too_large")).one()
        assert len(big.raw) == 4096 and big.raw_size == len(cases["too_large"])


def test_staff_read_dead_letters_counts_and_status(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, tok = tokens(sessions)
    device = bearer(tok["jjhy-gate1-qr"])
    client.post("/api/v1/devices/jjhy-gate1-qr/events", content=b"{oops", headers=device)
    client.post("/api/v1/devices/jjhy-gate1-qr/events", content=b"\xff", headers=device)
    client.post(
        "/api/v1/devices/jjhy-gate1-qr/events",
        content=envelope("jjhy-gate1-qr", "heartbeat", HB, ts=utcnow()),
        headers=device,
    )
    staff = bearer(tok["staff"])
    letters = client.get("/api/v1/devices/dead-letters", headers=staff).json()
    assert [x["reason"] for x in letters] == ["bad_json", "bad_json"]
    assert letters[1]["raw"] == "{oops"
    counts = client.get("/api/v1/devices/dead-letters/counts", headers=staff).json()
    assert counts == [{"device_id": "jjhy-gate1-qr", "reason": "bad_json", "count": 2}]
    status = {s["device_id"]: s for s in client.get("/api/v1/devices/status", headers=staff).json()}
    assert status["jjhy-gate1-qr"]["events_accepted"] == 1
    assert status["jjhy-gate1-qr"]["dead_letters"] == 2
    assert status["jjhy-gate1-qr"]["fw"] == "1.0"
    assert client.get("/api/v1/devices/dead-letters", headers=bearer(tok["resident"])).status_code == 403
    assert client.get("/api/v1/devices/dead-letters", headers=device).status_code == 403
    assert client.get("/api/v1/devices/dead-letters?reason=nope", headers=staff).status_code == 422
    assert client.get("/api/v1/devices/dead-letters?limit=0", headers=staff).status_code == 422
    assert json.loads(client.get("/api/v1/devices/status").text)["detail"]


def test_console_page_shows_devices_and_dead_letters(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, tok = tokens(sessions)
    device = bearer(tok["jjhy-gate1-qr"])
    client.post("/api/v1/devices/jjhy-gate1-qr/events", content=b"{oops<script>", headers=device)
    page = client.get("/console/devices", headers={"Authorization": f"Bearer {tok['staff']}"})
    assert page.status_code == 200
    assert "jjhy-gate1-qr" in page.text and "不是合法 JSON" in page.text
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text  # raw bytes are escaped
    filtered = client.get(
        "/console/devices?reason=clock", headers={"Authorization": f"Bearer {tok['staff']}"}
    )
    assert filtered.status_code == 200 and "{oops" not in filtered.text
    assert (
        client.get(
            "/console/devices?reason=<x>", headers={"Authorization": f"Bearer {tok['staff']}"}
        ).status_code
        == 200
    )
    refused = client.get("/console/devices", headers={"Authorization": f"Bearer {tok['resident']}"})
    assert refused.status_code == 403
    anonymous = client.get("/console/devices", follow_redirects=False)
    assert anonymous.status_code == 303
