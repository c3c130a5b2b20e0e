"""闸口通行: today's flow at a gate or compound over the API, the console page and the filtered stream."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.websockets import WebSocketDisconnect

from jiayuan.access.events import AlarmRaised, FlowChanged, VehicleSeen
from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service.tokens import issue_api_token
from jiayuan.accounts.service.users import create_user
from jiayuan.devices.events import DeviceStateChanged
from jiayuan.kernel.clock import LOCAL_TZ, local, utcnow
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import Vehicle
from jiayuan.web.routes.access_ws import stream_filter
from tests.accounts.helpers import login
from tests.devices.helpers import envelope
from tests.factories import Site, add_person, make_user, seed_site


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def setup(sessions: sessionmaker[Session]) -> tuple[Site, dict[str, str]]:
    """The site, a registered resident vehicle, users of several roles and the gate devices' tokens."""
    with sessions() as session:
        site = seed_site(session)
        household, person = add_person(session, site.compound_id)
        session.add(Vehicle(plate="豫A10345", color="blue", household_id=household, owner_id=person))
        system = Principal.system()
        users = {
            "staff": (Role.STAFF, [(ScopeKind.COMMUNITY, site.community_id)]),
            "outsider": (Role.STAFF, [(ScopeKind.COMMUNITY, site.other_community_id)]),
            "property": (Role.PROPERTY, [(ScopeKind.COMPOUND, site.compound_id)]),
            "resident": (Role.RESIDENT, [(ScopeKind.HOUSEHOLD, household), (ScopeKind.PERSON, person)]),
        }
        tokens = {}
        for name, (role, scopes) in users.items():
            user = create_user(
                session, actor=system, username=name, display_name=name, role=role, scopes=scopes
            )
            session.flush()
            tokens[name] = issue_api_token(session, actor=system, name="t", user_id=user.id)
        for device in ("jjhy-gate1-plate", "jjhy-gate1-qr"):
            tokens[device] = issue_api_token(session, actor=system, name=device, device_id=device)
        session.commit()
    return site, tokens


def push(client: TestClient, tokens: dict[str, str], device: str, type: str, payload: dict[str, object],
         at: datetime | None = None) -> None:  # fmt: skip
    raw = envelope(device, type, payload, ts=at or utcnow())
    response = client.post(f"/api/v1/devices/{device}/events", content=raw, headers=auth(tokens[device]))
    assert response.status_code == 202, response.text


def plate(
    client: TestClient, tokens: dict[str, str], text: str, direction: str, at: datetime | None = None
) -> None:
    payload = {"plate": text, "color": "blue", "confidence": 0.95, "direction": direction}
    push(client, tokens, "jjhy-gate1-plate", "plate_read", payload, at)


def test_today_counts_lists_and_classifies(client: TestClient, sessions: sessionmaker[Session]) -> None:
    site, tok = setup(sessions)
    midnight = datetime.combine(local(utcnow()).date(), time(), tzinfo=LOCAL_TZ)
    plate(client, tok, "豫B88888", "in", at=midnight - timedelta(hours=2))  # stayed overnight
    plate(client, tok, "豫ａ·10345", "in")  # a resident's car
    plate(client, tok, "豫C66666", "in")
    plate(client, tok, "豫C66666", "out")
    issued = client.post("/api/v1/passes/resident", json={}, headers=auth(tok["resident"])).json()["token"]
    scan = {"token": issued, "direction": "in", "local_decision": "ok", "local_reason": None}
    push(client, tok, "jjhy-gate1-qr", "qr_scan", scan)
    push(client, tok, "jjhy-gate1-qr", "qr_scan", scan)  # the same code again: refused as replayed
    watch = {"community_id": site.community_id, "plate": "豫D12345", "reason": "协查通报"}
    assert client.post("/api/v1/watch-plates", json=watch, headers=auth(tok["staff"])).status_code == 201
    plate(client, tok, "豫D12345", "in")

    today = client.get(f"/api/v1/flow/today?compound_id={site.compound_id}", headers=auth(tok["staff"]))
    assert today.status_code == 200, today.text
    body = today.json()
    assert body["compound_name"] == "锦江花园" and body["gate_id"] is None
    assert {g["name"] for g in body["gates"]} == {"1号门", "2号门"}
    assert datetime.fromisoformat(body["day_start"]) == midnight
    totals = body["flow"]["totals"]
    # Yesterday's entry is not today's flow, but the car is still inside and on the overnight list.
    assert (totals["people_in"], totals["refused"], totals["outside_in"], totals["outside_out"]) == (
        1,
        1,
        2,
        1,
    )
    assert body["flow"]["outside_present"] == 2
    assert [v["plate"] for v in body["overnight"]] == ["豫B88888"]
    plates = [(m["plate"], m["category"]) for m in body["feed"] if m["event"] == "access.vehicle_seen"]
    assert ("豫A10345", "resident") in plates and ("豫C66666", "outside") in plates
    checks = [m["reason"] for m in body["feed"] if m["event"] == "access.pass_checked"]
    assert sorted(checks) == ["ok", "replayed"]
    assert all("person_id" not in m for m in body["feed"])
    assert [(a["type"], a["compound_id"]) for a in body["alarms"]] == [("watchlist_plate", site.compound_id)]

    by_gate = client.get(f"/api/v1/flow/today?gate_id={site.gate2_id}", headers=auth(tok["staff"])).json()
    assert by_gate["gate_id"] == site.gate2_id and by_gate["feed"] == [] and by_gate["alarms"] == []
    assert by_gate["flow"]["totals"]["people_in"] == 0 and len(by_gate["overnight"]) == 1
    default = client.get("/api/v1/flow/today", headers=auth(tok["property"])).json()
    assert default["compound_id"] == site.compound_id and default["flow"]["totals"]["people_in"] == 1


@pytest.mark.parametrize(
    ("who", "query", "status", "field"),
    [
        ("staff", "gate_id=0", 422, "gate_id"),
        ("staff", "compound_id=abc", 422, "compound_id"),
        ("staff", "gate_id=99999999999", 422, "gate_id"),
        ("staff", "gate_id=999999", 404, "gate_id"),
        ("staff", "compound_id=999999", 404, "compound_id"),
        ("staff", "compound_id={other}&gate_id={gate}", 422, "gate_id"),
        ("outsider", "compound_id={compound}", 404, "compound_id"),
        ("outsider", "gate_id={gate}", 404, "gate_id"),
        ("outsider", "", 404, "compound_id"),
        ("resident", "compound_id={compound}", 403, None),
    ],
)
def test_today_refuses_bad_input_and_other_scopes(
    client: TestClient, sessions: sessionmaker[Session], who: str, query: str, status: int, field: str | None
) -> None:
    site, tok = setup(sessions)
    filled = query.format(compound=site.compound_id, gate=site.gate_id, other=site.compound_id + 1000)
    response = client.get(f"/api/v1/flow/today?{filled}", headers=auth(tok[who]))
    assert response.status_code == status, response.text
    body = response.json()
    assert field is None or field in (body.get("field"), *(e["field"] for e in body.get("errors", [])))


def test_console_page_by_role(client: TestClient, sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        site = seed_site(session)
    assert client.get("/console/flow", follow_redirects=False).status_code == 303
    make_user(sessions, "zhangwei", Role.STAFF, scopes=[f"community:{site.community_id}"])
    make_user(sessions, "jumin", Role.RESIDENT, scopes=[f"community:{site.community_id}"])
    make_user(sessions, "other", Role.STAFF, scopes=[f"community:{site.other_community_id}"])

    login(client, "jumin")
    refused = client.get("/console/flow")
    assert refused.status_code == 403 and "无权查看门岗数据" in refused.text
    assert 'href="/console/flow"' not in refused.text  # not in the resident's top bar either

    client.cookies.clear()
    login(client, "zhangwei")
    page = client.get("/console/flow")
    assert page.status_code == 200
    assert 'href="/console/flow"' in page.text and 'id="flow-data"' in page.text
    assert f'value="/console/flow?gate_id={site.gate2_id}"' in page.text and "锦江花园 · 2号门" in page.text
    assert '<script type="module" src="/static/js/flow.js">' in page.text
    gate_view = client.get(f"/console/flow?gate_id={site.gate_id}")
    assert (
        gate_view.status_code == 200
        and f'value="/console/flow?gate_id={site.gate_id}" selected' in gate_view.text
    )
    assert client.get("/console/flow?gate_id=999999").status_code == 404
    assert client.get("/console/flow?gate_id=-1").status_code == 422
    assert client.get("/static/js/flow.js").status_code == 200

    client.cookies.clear()
    login(client, "other")
    empty = client.get("/console/flow")
    assert empty.status_code == 200 and "没有出入口" in empty.text and "flow.js" not in empty.text
    assert client.get(f"/console/flow?compound_id={site.compound_id}").status_code == 404


def test_stream_narrowed_to_a_compound(
    real_commits: None, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    site, tok = setup(sessions)
    with client.websocket_connect(f"/ws/v1/access?compound_id={site.compound_id}&token={tok['staff']}") as ws:
        plate(client, tok, "豫C66666", "in")
        received = [ws.receive_json(), ws.receive_json()]
    assert {m["event"] for m in received} == {"access.vehicle_seen", "access.flow"}
    assert all(m["compound_id"] == site.compound_id for m in received)
    for query, code in ((f"compound_id={site.compound_id + 1000}", 4404), ("compound_id=0", 1008)):
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect(f"/ws/v1/access?{query}&token={tok['staff']}") as ws,
        ):
            ws.receive_json()
        assert refused.value.code == code, query

    staff = Principal(role=Role.STAFF, community_ids=frozenset({site.community_id}))
    mine = stream_filter(staff, None, site.compound_id, frozenset({site.gate_id, site.gate2_id}))
    here = {"community_id": site.community_id, "gate_id": site.gate_id, "compound_id": site.compound_id}
    flow = FlowChanged(**here, bucket="2026-11-27T00:00:00+00:00", deltas={"people_in": 1}, revision=1)
    assert mine(flow.to_message())
    assert not mine(flow.model_copy(update={"compound_id": 999, "gate_id": 999}).to_message())
    device = DeviceStateChanged(
        community_id=site.community_id, device_id="x", gate_id=site.gate_id, state="offline"
    )
    assert mine(device.to_message()) and not mine(device.model_copy(update={"gate_id": 999}).to_message())
    seen = VehicleSeen(
        **here, passage_id=1, plate="豫C66666", category="outside", direction="in", valid_format=True
    )
    assert mine(seen.to_message())
    # A property company scoped to the compound sees its alarms (they carry the compound).
    agent = Principal(role=Role.PROPERTY, compound_ids=frozenset({site.compound_id}))
    alarm = AlarmRaised(**here, alarm_id=1, type="sos", summary="1号门 一键报警")
    assert stream_filter(agent, None)(alarm.to_message())
    assert not stream_filter(agent, None)(alarm.model_copy(update={"compound_id": 999}).to_message())
    # … and its gate devices going offline (state changes carry the compound too).
    gone = DeviceStateChanged(**here, device_id="x", state="offline")
    assert stream_filter(agent, None)(gone.to_message())
    assert not stream_filter(agent, None)(gone.model_copy(update={"compound_id": 999}).to_message())


def test_marks_say_which_live_counts_a_reload_already_holds(
    real_commits: None, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    site, tok = setup(sessions)
    at = utcnow()  # one bucket for every read below
    query = f"gate_id={site.gate_id}&token={tok['staff']}"
    with client.websocket_connect(f"/ws/v1/access?{query}") as ws:

        def next_flow() -> dict[str, object]:
            while (message := ws.receive_json())["event"] != "access.flow":
                pass
            return message

        plate(client, tok, "豫C00001", "in", at)
        plate(client, tok, "豫C00002", "in", at)
        before = [next_flow(), next_flow()]
        today = client.get(f"/api/v1/flow/today?gate_id={site.gate_id}", headers=auth(tok["staff"])).json()
        plate(client, tok, "豫C00003", "out", at)
        after = next_flow()
    marks = today["flow"]["marks"]
    assert list(marks.values()) == [{str(site.gate_id): 2}]
    assert [m["revision"] for m in before] == [1, 2] and after["revision"] == 3
    # The reload plus the events above its mark is what a fresh read shows: each change once.
    fresh = client.get(f"/api/v1/flow/today?gate_id={site.gate_id}", headers=auth(tok["staff"])).json()
    assert today["flow"]["totals"]["vehicles_in"] == 2 and after["deltas"] == {
        "vehicles_out": 1,
        "outside_out": 1,
    }
    assert fresh["flow"]["totals"]["vehicles_out"] == today["flow"]["totals"]["vehicles_out"] + 1
    assert list(fresh["flow"]["marks"].values()) == [{str(site.gate_id): 3}]
