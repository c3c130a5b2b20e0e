"""The access API and CLI over real storage: passes, visitors, verify, flow, alarms, the live stream."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.access.events import AlarmRaised
from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service.tokens import issue_api_token
from jiayuan.accounts.service.users import create_user
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal, Role
from jiayuan.web.routes.access_ws import stream_filter
from tests.devices.helpers import envelope
from tests.factories import Site, add_person, seed_site


def setup(sessions: sessionmaker[Session]) -> tuple[Site, int, int, dict[str, str]]:
    with sessions() as session:
        site = seed_site(session)
        household, person = add_person(session, site.compound_id)
        system = Principal.system()
        users = {
            "staff": (Role.STAFF, [(ScopeKind.COMMUNITY, site.community_id)]),
            "outsider": (Role.STAFF, [(ScopeKind.COMMUNITY, site.other_community_id)]),
            "resident": (Role.RESIDENT, [(ScopeKind.HOUSEHOLD, household), (ScopeKind.PERSON, person)]),
            "volunteer": (Role.VOLUNTEER, [(ScopeKind.COMMUNITY, site.community_id)]),
        }
        tokens = {}
        for name, (role, scopes) in users.items():
            user = create_user(
                session, actor=system, username=name, display_name=name, role=role, scopes=scopes
            )
            session.flush()
            tokens[name] = issue_api_token(session, actor=system, name="t", user_id=user.id)
        tokens["qr"] = issue_api_token(session, actor=system, name="qr", device_id="jjhy-gate1-qr")
        tokens["qr2"] = issue_api_token(session, actor=system, name="qr2", device_id="jjhy-gate2-qr")
        session.commit()
    return site, household, person, tokens


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_resident_pass_verify_and_flow(client: TestClient, sessions: sessionmaker[Session]) -> None:
    site, _, person, tok = setup(sessions)
    issued = client.post("/api/v1/passes/resident", json={}, headers=auth(tok["resident"]))
    assert issued.status_code == 200, issued.text
    token = issued.json()["token"]
    body = {"token": token, "gate": "jjhy-gate1", "direction": "in"}
    first = client.post("/api/v1/passes/verify", json=body, headers=auth(tok["qr"]))
    again = client.post("/api/v1/passes/verify", json=body, headers=auth(tok["staff"]))
    assert (first.json()["decision"], first.json()["reason"]) == ("ok", "ok")
    assert again.json()["reason"] == "replayed"
    assert client.post("/api/v1/passes/verify", json=body, headers=auth(tok["qr2"])).status_code == 404
    assert client.post("/api/v1/passes/verify", json=body, headers=auth(tok["outsider"])).status_code == 404
    assert (
        client.post(
            "/api/v1/passes/verify", json={**body, "direction": "up"}, headers=auth(tok["staff"])
        ).status_code
        == 422
    )
    assert (
        client.post("/api/v1/passes/verify", json={"token": token}, headers=auth(tok["staff"])).status_code
        == 422
    )

    flow = client.get(f"/api/v1/gates/{site.gate_id}/flow", headers=auth(tok["staff"]))
    assert flow.status_code == 200 and flow.json()["totals"]["people_in"] == 1
    assert flow.json()["totals"]["refused"] == 1
    assert client.get(f"/api/v1/gates/{site.gate_id}/flow", headers=auth(tok["outsider"])).status_code == 404
    assert (
        client.get(
            f"/api/v1/gates/{site.gate_id}/flow?since=yesterday", headers=auth(tok["staff"])
        ).status_code
        == 422
    )
    assert client.get(f"/api/v1/gates/{site.gate_id}/flow", headers=auth(tok["resident"])).status_code == 403
    assert client.get("/api/v1/gates/999999/flow", headers=auth(tok["staff"])).status_code == 404
    gates = client.get("/api/v1/gates", headers=auth(tok["volunteer"])).json()
    assert {g["code"] for g in gates} == {"jjhy-gate1", "jjhy-gate2"}
    assert client.get("/api/v1/gates", headers=auth(tok["outsider"])).json() == []
    other = client.post(
        "/api/v1/passes/resident", json={"person_id": person + 999}, headers=auth(tok["resident"])
    )
    assert other.status_code == 404


def test_visitors_keys_revocations_isolation(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _, household, person, tok = setup(sessions)
    now = utcnow()
    invite = {
        "household_id": household, "name": "李四", "phone": "13800138000", "plate": "豫A12345",
        "valid_from": now.isoformat(), "valid_until": (now + timedelta(hours=2)).isoformat(), "entries": 1,
    }  # fmt: skip
    created = client.post("/api/v1/visitors", json=invite, headers=auth(tok["resident"]))
    assert created.status_code == 201, created.text
    assert created.json()["phone_masked"] == "138****8000" and "13800138000" not in created.text
    visitor_token = created.json()["token"]
    verify = {"token": visitor_token, "gate": "jjhy-gate1"}
    assert client.post("/api/v1/passes/verify", json=verify, headers=auth(tok["qr"])).json()["reason"] == "ok"
    assert (
        client.post("/api/v1/passes/verify", json=verify, headers=auth(tok["qr"])).json()["reason"]
        == "visitor_used_up"
    )
    bad = client.post(
        "/api/v1/visitors", json={**invite, "valid_until": now.isoformat()}, headers=auth(tok["resident"])
    )
    assert bad.status_code == 422
    assert (
        client.post(
            "/api/v1/visitors", json={**invite, "phone": "1"}, headers=auth(tok["resident"])
        ).status_code
        == 422
    )
    assert client.post("/api/v1/visitors", json=invite, headers=auth(tok["outsider"])).status_code == 404

    keys = client.get("/api/v1/passes/keys", headers=auth(tok["qr"])).json()
    assert keys[0]["kid"] == "k1" and len(keys[0]["ed25519"]) == 43
    assert client.get("/api/v1/passes/keys").status_code == 401
    revoke = {"ref": f"p:{person}", "reason": "门禁暂停"}
    assert (
        client.post("/api/v1/passes/revocations", json=revoke, headers=auth(tok["resident"])).status_code
        == 403
    )
    done = client.post("/api/v1/passes/revocations", json=revoke, headers=auth(tok["staff"]))
    assert done.status_code == 201 and done.json()["revoked"] == [f"p:{person}"]
    assert (
        client.post(
            "/api/v1/passes/revocations", json={"ref": "x", "reason": "no"}, headers=auth(tok["staff"])
        ).status_code
        == 422
    )
    listed = client.get("/api/v1/passes/revocations", headers=auth(tok["qr"])).json()
    assert listed["version"] >= 1

    isolation = {
        "person_id": person, "starts_at": now.isoformat(), "ends_at": (now + timedelta(days=3)).isoformat(),
        "purpose": "居家健康观察", "consent_recorded": False,
    }  # fmt: skip
    refused = client.post("/api/v1/isolations", json=isolation, headers=auth(tok["staff"]))
    assert refused.status_code == 422 and "consent" in refused.text
    ok = client.post(
        "/api/v1/isolations", json={**isolation, "consent_recorded": True}, headers=auth(tok["staff"])
    )
    assert ok.status_code == 201


def test_pushed_plate_read_reaches_alarms_and_the_live_stream(
    real_commits: None, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    site, _, _, tok = setup(sessions)
    with sessions() as session:
        plate_token = issue_api_token(
            session, actor=Principal.system(), name="p", device_id="jjhy-gate1-plate"
        )
        session.commit()
    watch = {"community_id": site.community_id, "plate": "豫D12345", "reason": "协查通报"}
    assert client.post("/api/v1/watch-plates", json=watch, headers=auth(tok["staff"])).status_code == 201
    payload = {"plate": "豫D12345", "color": "blue", "confidence": 0.9, "direction": "in"}
    with client.websocket_connect(f"/ws/v1/access?token={tok['staff']}") as mine:
        raw = envelope("jjhy-gate1-plate", "plate_read", payload, ts=utcnow())
        pushed = client.post(
            "/api/v1/devices/jjhy-gate1-plate/events", content=raw, headers=auth(plate_token)
        )
        assert pushed.status_code == 202
        received = []
        while not {"access.vehicle_seen", "access.alarm_raised", "access.flow"} <= {
            m["event"] for m in received
        }:
            received.append(mine.receive_json())
    seen = next(m for m in received if m["event"] == "access.vehicle_seen")
    assert seen["plate"] == "豫D12345" and seen["gate_id"] == site.gate_id
    outsider = Principal(role=Role.STAFF, community_ids=frozenset({site.other_community_id}))
    staff = Principal(role=Role.STAFF, community_ids=frozenset({site.community_id}))
    event = AlarmRaised(community_id=site.community_id, alarm_id=1, type="x", summary="s")
    message = event.to_message()
    assert stream_filter(staff, None)(message) and not stream_filter(outsider, None)(message)
    assert not stream_filter(staff, site.gate2_id)(message | {"gate_id": site.gate_id})
    alarms = client.get("/api/v1/alarms?state=open", headers=auth(tok["staff"])).json()
    assert [a["type"] for a in alarms] == ["watchlist_plate"]
    assert client.get("/api/v1/alarms", headers=auth(tok["outsider"])).json() == []
    assert client.get("/api/v1/alarms?state=bogus", headers=auth(tok["staff"])).status_code == 422


def test_stream_refuses_anonymous_and_residents(
    real_commits: None, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    _, _, _, tok = setup(sessions)
    from starlette.websockets import WebSocketDisconnect

    # Accepted, then closed with a code a browser can act on (a refused handshake has none).
    for query, code in (("", 4401), ("?token=nonsense", 4401), (f"?token={tok['resident']}", 4403)):
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect(f"/ws/v1/access{query}") as ws,
        ):
            ws.receive_json()
        assert refused.value.code == code, query


def test_cli_issue_verify_and_gates(cli_env: None, sessions: sessionmaker[Session], tmp_path: Path) -> None:
    from jiayuan.cli.main import app

    _, _, person, _ = setup(sessions)
    runner = CliRunner()
    # A long path: the message must stay on one line to be copied from the terminal.
    svg = tmp_path / ("通行码" * 20) / "p.svg"
    svg.parent.mkdir()
    issued = runner.invoke(app, ["pass", "issue", "--resident", str(person), "--out", str(svg)])
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip().splitlines()[0]
    assert token.startswith("JY1.") and svg.read_text().startswith("<?xml")
    assert f"二维码已写入 {svg}（有效至北京时间 " in issued.stderr and "+00:00" not in issued.stderr
    ok = runner.invoke(app, ["pass", "verify", token, "--gate", "jjhy-gate1", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["decision"] == "ok"
    replay = runner.invoke(app, ["pass", "verify", token, "--gate", "jjhy-gate1"])
    assert replay.exit_code == 1 and "拒绝：通行码重复使用（replayed）" in replay.stdout
    assert runner.invoke(app, ["pass", "verify", token, "--gate", "nowhere"]).exit_code == 1
    assert runner.invoke(app, ["pass", "issue", "--resident", "999999"]).exit_code == 1
    assert runner.invoke(app, ["pass", "issue", "--resident", str(person), "--out", "x.gif"]).exit_code == 2
    gates = runner.invoke(app, ["gates", "list", "--json"])
    listed = json.loads(gates.stdout)
    assert gates.exit_code == 0 and listed[0]["compound_name"] == "锦江花园"
    assert "jjhy-gate1-qr" in [d["id"] for d in listed[0]["devices"]]
