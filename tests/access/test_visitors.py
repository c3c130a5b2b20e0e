"""Visitor passes after the invitation: list, filter, look at and cancel them, in every scope."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.access.models import VisitorPass
from jiayuan.access.pass_tokens import Signer
from jiayuan.access.schemas import VisitorFilter, VisitorInvite
from jiayuan.access.service import gate_checks, passes, visitors
from jiayuan.access.states import VisitorState
from jiayuan.accounts.models import AuditEntry
from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service.tokens import issue_api_token
from jiayuan.accounts.service.users import create_user, principal_of
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal, Role
from tests.factories import add_compound, add_person, seed_site

NOW = datetime.fromisoformat("2026-11-27T10:00:00+08:00")
SIGNER = Signer("test-pass-secret-0123456789", "k1")
VAULT = PiiVault.from_secret("test-pii")
SYSTEM = Principal.system()
PAGE = PageParams(page=1, size=50)


@dataclass(frozen=True)
class Place:
    """Two flats of 锦江花园, one of a compound in another community, and the inviting resident."""

    community_id: int
    compound_id: int
    household: int
    neighbour: int
    far_household: int
    resident: Principal


@pytest.fixture
def place(sessions: sessionmaker[Session]) -> Place:
    with sessions() as session:
        site = seed_site(session)
        household, person = add_person(session, site.compound_id, room="101")
        neighbour, _ = add_person(session, site.compound_id, room="102", name="王五")
        far = add_compound(session, site.other_community_id, "远方小区", "yf")
        far_household, _ = add_person(session, far, room="301", name="赵六")
        user = create_user(
            session, actor=SYSTEM, username="zhangsan", display_name="张三", role=Role.RESIDENT,
            scopes=[(ScopeKind.HOUSEHOLD, household), (ScopeKind.PERSON, person)],
        )  # fmt: skip
        resident = principal_of(user)
        session.commit()
        return Place(site.community_id, site.compound_id, household, neighbour, far_household, resident)


def invite(
    session: Session,
    actor: Principal,
    household: int,
    *,
    name: str = "李四",
    start: timedelta = timedelta(hours=-1),
    hours: int = 4,
    entries: int = 1,
    plate: str | None = None,
) -> VisitorPass:
    """The stored pass (so a test can age it), invited through the service."""
    shown = visitors.invite_visitor(
        session,
        actor=actor,
        vault=VAULT,
        invite=VisitorInvite(
            household_id=household, name=name, phone="13800138000", plate=plate, valid_from=NOW + start,
            valid_until=NOW + start + timedelta(hours=hours), entries=entries,
        ),
    )  # fmt: skip
    stored = session.get(VisitorPass, shown.id)
    assert stored is not None
    return stored


def listed(session: Session, actor: Principal, **criteria: Any) -> list[str]:
    page = visitors.list_visitors(
        session, actor=actor, vault=VAULT, criteria=VisitorFilter(**criteria), params=PAGE, now=NOW
    )
    assert page.total == len(page.items)
    return [item.name for item in page.items]


def staff_of(community_id: int) -> Principal:
    return Principal(role=Role.STAFF, user_id=None, username="staff", community_ids=frozenset({community_id}))


def test_states_filters_and_what_a_row_shows(sessions: sessionmaker[Session], place: Place) -> None:
    staff = staff_of(place.community_id)
    with sessions() as session:
        invite(session, place.resident, place.household, name="有效", plate="豫A12345")
        invite(session, SYSTEM, place.neighbour, name="未生效", start=timedelta(days=1))
        used = invite(session, SYSTEM, place.household, name="已用完")
        used.entries_used = 1
        invite(session, SYSTEM, place.household, name="已过期", start=timedelta(days=-2))
        revoked = invite(session, SYSTEM, place.neighbour, name="已撤销")
        visitors.cancel_visitor(session, actor=SYSTEM, vault=VAULT, visitor_id=revoked.id, now=NOW)
        session.commit()

        assert listed(session, staff) == ["已撤销", "已过期", "已用完", "未生效", "有效"]
        for state in VisitorState:
            assert listed(session, staff, status=state) == [state.label]
        assert listed(session, staff, household_id=place.neighbour) == ["已撤销", "未生效"]
        assert listed(session, staff, compound_id=place.compound_id + 999) == []
        tomorrow = NOW.date() + timedelta(days=1)
        assert listed(session, staff, on=tomorrow) == ["未生效"]
        assert "已过期" in listed(session, staff, on=NOW.date() - timedelta(days=2))
        assert "已过期" not in listed(session, staff, on=NOW.date())

        row = visitors.list_visitors(
            session, actor=staff, vault=VAULT, criteria=VisitorFilter(status="active"), params=PAGE, now=NOW
        ).items[0]
        assert (row.phone_masked, row.plate, row.invited_by) == ("138****8000", "豫A12345", "张三")
        assert (row.compound, row.household, row.entries_allowed, row.entries_used) == (
            "锦江花园", "1号楼 1单元 101", 1, 0,
        )  # fmt: skip
        assert "13800138000" not in row.model_dump_json()
        two = visitors.list_visitors(
            session, actor=staff, vault=VAULT, criteria=VisitorFilter(), params=PageParams(size=2), now=NOW
        )
        assert (two.total, len(two.items)) == (5, 2)


def test_status_accepts_code_or_label_and_names_the_field() -> None:
    assert VisitorState.parse("已撤销") is VisitorState.REVOKED
    assert VisitorState.parse(" used_up ") is VisitorState.USED_UP
    with pytest.raises(Invalid) as bad:
        VisitorState.parse("gone")
    assert bad.value.field == "status" and "已过期" in bad.value.message


def test_scope_each_role_sees_its_own(sessions: sessionmaker[Session], place: Place) -> None:
    with sessions() as session:
        mine = invite(session, place.resident, place.household, name="我的客人")
        invite(session, SYSTEM, place.neighbour, name="邻居的客人")
        far = invite(session, SYSTEM, place.far_household, name="远方的客人")
        session.commit()
        assert listed(session, place.resident) == ["我的客人"]
        assert listed(session, staff_of(place.community_id)) == ["邻居的客人", "我的客人"]
        property_ = Principal(role=Role.PROPERTY, compound_ids=frozenset({place.compound_id}))
        assert listed(session, property_) == ["邻居的客人", "我的客人"]
        assert listed(session, SYSTEM) == ["远方的客人", "邻居的客人", "我的客人"]
        for role in (Role.POLICE, Role.VOLUNTEER):
            nobody = Principal(role=role, community_ids=frozenset({place.community_id}))
            with pytest.raises(Forbidden):
                listed(session, nobody)
            with pytest.raises(Forbidden):  # the same answer for every id, so none can be probed
                visitors.show_visitor(session, actor=nobody, vault=VAULT, visitor_id=999_999)
        for visitor_id in (far.id, 999_999):
            with pytest.raises(NotFound) as hidden:
                visitors.show_visitor(
                    session, actor=staff_of(place.community_id), vault=VAULT, visitor_id=visitor_id
                )
            assert hidden.value.field == "visitor_id"
            with pytest.raises(NotFound):
                visitors.cancel_visitor(
                    session, actor=place.resident, vault=VAULT, visitor_id=visitor_id, now=NOW
                )
        with pytest.raises(Forbidden, match="只有邀请的住户"):
            visitors.cancel_visitor(session, actor=property_, vault=VAULT, visitor_id=mine.id, now=NOW)
        shown = visitors.show_visitor(session, actor=place.resident, vault=VAULT, visitor_id=mine.id, now=NOW)
        assert shown.status is VisitorState.ACTIVE


def test_cancel_revokes_at_the_gate_and_is_audited(sessions: sessionmaker[Session], place: Place) -> None:
    with sessions() as session:
        visitor = invite(session, place.resident, place.household, entries=3)
        old = invite(session, place.resident, place.household, start=timedelta(days=-2))
        token = visitors.visitor_token(
            session, actor=SYSTEM, signer=SIGNER, visitor_id=visitor.id, now=NOW
        ).token

        def at_gate() -> str:
            return gate_checks.verify_at_gate(
                session, actor=SYSTEM, token=token, gate_ref="jjhy-gate1", direction="in",
                public_keys=SIGNER.public_keys(), now=NOW,
            ).reason  # fmt: skip

        assert at_gate() == "ok"
        visitors.cancel_visitor(
            session, actor=place.resident, vault=VAULT, visitor_id=visitor.id, reason="行程取消", now=NOW
        )
        session.commit()
        assert at_gate() == "revoked"
        assert f"v:{visitor.id}" in passes.revocation_list(session, actor=SYSTEM)[1]
        with pytest.raises(Conflict, match="已撤销") as twice:
            visitors.cancel_visitor(
                session, actor=staff_of(place.community_id), vault=VAULT, visitor_id=visitor.id, now=NOW
            )
        assert twice.value.field == "visitor_id"
        with pytest.raises(Conflict, match="已过期"):
            visitors.cancel_visitor(session, actor=place.resident, vault=VAULT, visitor_id=old.id, now=NOW)
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "visitor.cancel")).one()
        assert (audit.target_id, audit.reason, audit.actor_name) == (str(visitor.id), "行程取消", "zhangsan")
        assert audit.community_id == place.community_id


def _api_setup(sessions: sessionmaker[Session], place: Place) -> dict[str, str]:
    with sessions() as session:
        users = {
            "staff": (Role.STAFF, [(ScopeKind.COMMUNITY, place.community_id)]),
            "outsider": (Role.STAFF, [(ScopeKind.COMMUNITY, place.community_id + 1)]),
            "volunteer": (Role.VOLUNTEER, [(ScopeKind.COMMUNITY, place.community_id)]),
        }
        tokens = {
            "resident": issue_api_token(session, actor=SYSTEM, name="t", user_id=place.resident.user_id)
        }
        for name, (role, scopes) in users.items():
            user = create_user(
                session, actor=SYSTEM, username=name, display_name=name, role=role, scopes=scopes
            )
            session.flush()
            tokens[name] = issue_api_token(session, actor=SYSTEM, name="t", user_id=user.id)
        tokens["qr"] = issue_api_token(session, actor=SYSTEM, name="qr", device_id="jjhy-gate1-qr")
        session.commit()
    return {name: f"Bearer {token}" for name, token in tokens.items()}


def test_api_list_show_cancel_and_the_gate(
    client: TestClient, sessions: sessionmaker[Session], place: Place
) -> None:
    auth = _api_setup(sessions, place)
    now = utcnow()
    body = {
        "household_id": place.household, "name": "李四", "phone": "13800138000", "plate": "豫A12345",
        "valid_from": now.isoformat(), "valid_until": (now + timedelta(hours=2)).isoformat(), "entries": 2,
    }  # fmt: skip
    created = client.post("/api/v1/visitors", json=body, headers={"Authorization": auth["resident"]})
    assert created.status_code == 201, created.text
    visitor_id, token = created.json()["id"], created.json()["token"]
    assert created.json()["status"] == "active" and created.json()["invited_by"] == "张三"

    page = client.get(
        "/api/v1/visitors", params={"status": "active"}, headers={"Authorization": auth["staff"]}
    )
    assert page.status_code == 200, page.text
    assert page.json()["total"] == 1 and page.json()["items"][0]["phone_masked"] == "138****8000"
    assert "13800138000" not in page.text and page.json()["items"][0]["plate"] == "豫A12345"
    today = client.get(
        "/api/v1/visitors",
        params={"on": local(now).date().isoformat()},
        headers={"Authorization": auth["resident"]},
    )
    assert today.json()["total"] == 1
    for bad, field in (({"status": "有效期内"}, "status"), ({"on": "tomorrow"}, "on"), ({"size": 0}, "size")):
        refused = client.get("/api/v1/visitors", params=bad, headers={"Authorization": auth["staff"]})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field, refused.text

    shown = client.get(f"/api/v1/visitors/{visitor_id}", headers={"Authorization": auth["resident"]})
    assert shown.status_code == 200 and shown.json()["entries_allowed"] == 2
    for path in (f"/api/v1/visitors/{visitor_id}", f"/api/v1/visitors/{visitor_id}/cancel"):
        method = client.post if path.endswith("cancel") else client.get
        assert method(path, headers={"Authorization": auth["outsider"]}).status_code == 404
    assert client.get("/api/v1/visitors/999999", headers={"Authorization": auth["staff"]}).status_code == 404
    assert client.get("/api/v1/visitors/0", headers={"Authorization": auth["staff"]}).status_code == 422
    assert client.get("/api/v1/visitors", headers={"Authorization": auth["qr"]}).status_code == 403

    cancel = f"/api/v1/visitors/{visitor_id}/cancel"
    done = client.post(cancel, json={"reason": "客人不来了"}, headers={"Authorization": auth["staff"]})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["status_label"], done.json()["revoked"]) == (
        "revoked",
        "已撤销",
        True,
    )
    again = client.post(cancel, headers={"Authorization": auth["resident"]})
    assert (
        again.status_code == 409
        and again.json()["field"] == "visitor_id"
        and "已撤销" in again.json()["detail"]
    )
    too_long = client.post(cancel, json={"reason": "长" * 201}, headers={"Authorization": auth["staff"]})
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "reason"

    scan = {"token": token, "gate": "jjhy-gate1", "direction": "in"}
    checked = client.post("/api/v1/passes/verify", json=scan, headers={"Authorization": auth["qr"]})
    assert (checked.json()["decision"], checked.json()["reason"]) == ("refused", "revoked")
    revocations = client.get("/api/v1/passes/revocations", headers={"Authorization": auth["qr"]}).json()
    assert f"v:{visitor_id}" in revocations["revoked"]


def test_console_page_filters_and_cancels(
    client: TestClient, sessions: sessionmaker[Session], place: Place
) -> None:
    auth = _api_setup(sessions, place)
    vault = client.app.state.context.vault  # type: ignore[attr-defined]
    with sessions() as session:
        visitor, other = (
            visitors.invite_visitor(
                session, actor=place.resident, vault=vault,
                invite=VisitorInvite(
                    household_id=place.household, name=name, phone="13800138000", valid_from=utcnow(),
                    valid_until=utcnow() + timedelta(hours=2),
                ),
            )
            for name in ("李四", "王二")
        )  # fmt: skip
        session.commit()
    staff = {"Authorization": auth["staff"]}
    page = client.get("/console/visitors", headers=staff)
    assert page.status_code == 200 and "李四" in page.text and "138****8000" in page.text
    assert "13800138000" not in page.text and "/console/visitors/" in page.text
    bad = client.get("/console/visitors", params={"status": "soon", "on": "x"}, headers=staff)
    assert bad.status_code == 422 and "筛选条件有误：日期、状态" in bad.text
    empty = client.get("/console/visitors", params={"status": "revoked"}, headers=staff)
    assert "没有符合条件的访客通行证" in empty.text
    refused = client.get("/console/visitors", headers={"Authorization": auth["volunteer"]})
    assert refused.status_code == 403 and "无权访问" in refused.text

    cancel = f"/console/visitors/{visitor.id}/cancel"
    htmx = {**staff, "HX-Request": "true"}
    row = client.post(cancel, data={"reason": "客人不来了"}, headers=htmx)
    assert row.status_code == 200 and row.text.lstrip().startswith("<tr") and "已撤销" in row.text
    again = client.post(cancel, data={}, headers=htmx)
    assert again.status_code == 200 and "无需重复撤销" in again.text
    plain = client.post(cancel, data={}, headers=staff, follow_redirects=False)
    assert plain.status_code == 409 and "无需重复撤销" in plain.text
    done = client.post(f"/console/visitors/{other.id}/cancel", data={}, headers=staff, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/console/visitors?notice=")
    hidden = client.post(cancel, data={}, headers={"Authorization": auth["outsider"], "HX-Request": "true"})
    assert "访客通行证不存在" in hidden.text and "李四" not in hidden.text


def test_cli_lists_visitors(
    cli_env: None, sessions: sessionmaker[Session], place: Place, vault: PiiVault
) -> None:
    from jiayuan.cli.main import app

    now = utcnow()
    with sessions() as session:
        for name, start in (("李四", timedelta(hours=-1)), ("王二", timedelta(days=2))):
            visitors.invite_visitor(
                session, actor=SYSTEM, vault=vault,
                invite=VisitorInvite(
                    household_id=place.household, name=name, phone="13800138000", valid_from=now + start,
                    valid_until=now + start + timedelta(hours=3),
                ),
            )  # fmt: skip
        session.commit()
    runner = CliRunner()
    found = runner.invoke(app, ["pass", "visitors", "--compound", str(place.compound_id), "--json"])
    assert found.exit_code == 0, found.output
    assert [v["name"] for v in json.loads(found.stdout)["items"]] == ["王二", "李四"]
    pending = runner.invoke(app, ["pass", "visitors", "--status", "未生效", "--json"])
    assert [v["status"] for v in json.loads(pending.stdout)["items"]] == ["pending"]
    table = runner.invoke(app, ["pass", "visitors", "--status", "active"])
    assert table.exit_code == 0 and "访客通行证 共 1 张" in table.stdout
    assert json.loads(found.stdout)["items"][0]["phone_masked"] == "138****8000"
    assert "13800138000" not in found.stdout
    bad = runner.invoke(app, ["pass", "visitors", "--status", "soon"])
    assert bad.exit_code == 1 and "status" in bad.output
    absurd = runner.invoke(app, ["pass", "visitors", "--on", "9999-12-31"])
    assert absurd.exit_code == 1 and "on" in absurd.output and "2999" in absurd.output
    assert absurd.exception is None or isinstance(absurd.exception, SystemExit), absurd.exception
