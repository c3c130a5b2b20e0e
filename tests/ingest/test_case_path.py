"""The whole path of a gate SOS: pressed at the gate, published over MQTT, stored by the ingest process,
opened as a case with the gate camera's picture, dispatched by the roster to the grid's worker with the
cadre on duty, pushed to the worker's phone, escalated up the chain when nobody accepts it in time, then
accepted, reached, handled, checked by someone else and closed."""

from __future__ import annotations

import time
from datetime import timedelta

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.service import users
from jiayuan.cases.models import Case
from jiayuan.cases.schemas import ActionIn
from jiayuan.cases.service import reads, workflow
from jiayuan.db.uow import unit_of_work
from jiayuan.devices.models import DeviceSnapshot
from jiayuan.devices.protocol import Topics
from jiayuan.duty.schemas import DutyRole, PlaceKind, ShiftIn
from jiayuan.duty.service import shifts
from jiayuan.ingest.supervisor import start_in_child_process
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import Building, Unit
from jiayuan.settings import Settings
from jiayuan.web.app import create_app
from tests.devices.helpers import envelope
from tests.factories import add_grid, make_user, seed_site, token_for

pytestmark = [pytest.mark.mqtt, pytest.mark.timeout(120)]
SYSTEM = Principal.system()


def test_a_gate_sos_goes_from_the_button_to_a_closed_case(
    sessions: sessionmaker[Session], broker_settings: Settings, prefix: str, publisher: mqtt.Client
) -> None:
    now = utcnow()
    with sessions() as session:
        site = seed_site(session)
        building = Building(compound_id=site.compound_id, name="1号楼", units=[Unit(name="1单元")])
        grid = add_grid(session, site.community_id, "第一网格", [building])
        session.add(
            DeviceSnapshot(
                device_id="jjhy-gate1-camera", snapshot_id="gate-view",
                received_at=now - timedelta(seconds=5),
                community_id=site.community_id, compound_id=site.compound_id, gate_id=site.gate_id,
                size=1, sha256="0" * 64, path="snapshots/jjhy-gate1-camera/gate-view.jpg",
            )
        )  # fmt: skip
        session.commit()
        grid_id = grid.id
    community = f"community:{site.community_id}"
    ids = {
        "worker": make_user(sessions, "wangwei", Role.GRID, scopes=[f"grid:{grid_id}", community]),
        "leader": make_user(sessions, "sunqiang", Role.STAFF, scopes=[community]),
        "cadre": make_user(sessions, "chenjun", Role.STAFF, scopes=[community]),
        "checker": make_user(sessions, "lijing", Role.STAFF, scopes=[community]),
    }
    with unit_of_work(sessions) as session:
        for who, role, kind, place in (
            ("worker", DutyRole.GRID_WORKER, PlaceKind.GRID, grid_id),
            ("leader", DutyRole.GRID_LEADER, PlaceKind.COMMUNITY, None),
            ("cadre", DutyRole.CADRE, PlaceKind.COMMUNITY, None),
        ):
            data = ShiftIn(
                community_id=site.community_id, user_id=ids[who], duty_role=role, place_kind=kind,
                place_id=place, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8),
            )  # fmt: skip
            shifts.add_shift(session, actor=SYSTEM, data=data)
        people = {who: users.active_principal_by_id(session, user_id) for who, user_id in ids.items()}

    ingest = start_in_child_process(broker_settings)
    try:
        with (
            TestClient(create_app(broker_settings)) as client,
            client.websocket_connect(f"/ws/v1/m?token={token_for(sessions, ids['worker'])}") as phone,
        ):
            raw = envelope(
                "jjhy-gate1-sos", "sos", {"button": "b1", "pressed": "long"}, ts=utcnow(), id="sos-press-0001"
            )
            publisher.publish(Topics(prefix).events("jjhy-gate1-sos"), raw, qos=1).wait_for_publish(5)
            pushed = phone.receive_json()
            while not pushed["alert"]:
                pushed = phone.receive_json()
            assert pushed["case"]["category_label"] == "一键报警" and pushed["case"]["mine"] is True
    finally:
        ingest.stop()

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with sessions() as session:
            case = session.scalars(select(Case)).one_or_none()
        if case is not None:
            break
        time.sleep(0.2)
    assert case is not None
    assert (case.source, case.device_id, case.gate_id, case.grid_id) == (
        "gate",
        "jjhy-gate1-sos",
        site.gate_id,
        grid_id,
    )
    assert (
        case.evidence["snapshot_device"] == "jjhy-gate1-camera" and case.evidence["snapshot"] == "gate-view"
    )
    assert (case.assignee_user_id, case.cadre_user_id) == (ids["worker"], ids["cadre"])

    def act(who: str, action: str, **fields: object) -> str:
        actor = people[who]
        assert actor is not None
        with unit_of_work(sessions) as session:
            data = ActionIn.model_validate({"action": action} | fields)
            return workflow.act(session, actor=actor, case_id=case.id, data=data).state.value

    # Nobody accepts within the two minutes an SOS allows: it goes up the chain to the 网格长.
    assert case.due_at is not None
    with unit_of_work(sessions) as session:
        assert workflow.escalate_overdue(session, actor=SYSTEM, now=case.due_at + timedelta(seconds=1)) == 1
    with unit_of_work(sessions) as session:
        shown = reads.show_case(session, actor=SYSTEM, case_id=case.id)
    assert (shown.level, shown.assignee_user_id) == (1, ids["leader"])
    assert shown.steps[-1].note == "超时未受理；转交网格长 sunqiang"

    assert act("leader", "accept") == "accepted"
    assert act("leader", "dispatch", assignee_user_id=ids["worker"]) == "dispatched"
    assert act("worker", "arrive", note="已到南门") == "on_site"
    assert act("worker", "handle", note="老人摔倒，已送医") == "handled"
    with pytest.raises(Exception, match="核查须由处置人以外的人进行"):
        act("worker", "verify")
    assert act("checker", "verify") == "verified"
    assert act("leader", "close") == "closed"
    with unit_of_work(sessions) as session:
        history = [s.action.value for s in reads.show_case(session, actor=SYSTEM, case_id=case.id).steps]
    assert history == ["accept", "escalate", "accept", "dispatch", "arrive", "handle", "verify", "close"]
