"""Police and property see only the cases the office shared with them, for a stated purpose, until the
share is revoked: through the API, the console pages and Open311 alike; the rest reads as missing."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import AuditEntry
from jiayuan.kernel.principal import Role
from tests.accounts.helpers import csrf_token, login
from tests.factories import Tree, make_user, token_for


def bearer(
    sessions: sessionmaker[Session], name: str, role: Role, *scopes: str
) -> tuple[int, dict[str, str]]:
    user_id = make_user(sessions, name, role, scopes=scopes)
    return user_id, {"Authorization": f"Bearer {token_for(sessions, user_id)}"}


def test_shared_cases_only_reach_the_account_they_were_shared_with(
    client: TestClient, sessions: sessionmaker[Session], db: Session, tree: Tree
) -> None:
    here, far = f"community:{tree.community.id}", f"community:{tree.other_community.id}"
    _, staff = bearer(sessions, "zhoumin", Role.STAFF, here)
    police_id, police = bearer(sessions, "majingguan", Role.POLICE, here)
    _, other_police = bearer(sessions, "liujingguan", Role.POLICE, here)
    _, far_police = bearer(sessions, "yuanjingguan", Role.POLICE, far)
    property_id, prop = bearer(sessions, "wuye", Role.PROPERTY, f"compound:{tree.jinjiang.id}")
    far_property_id, _ = bearer(sessions, "yuanwuye", Role.PROPERTY, f"compound:{tree.far.id}")
    made = [
        client.post(
            "/api/v1/cases", json={"category": c, "title": t, "household_id": tree.h101.id}, headers=staff
        )
        for c, t in (("safety", "楼道堆放杂物"), ("repair", "单元门禁坏了"), ("noise", "深夜装修"))
    ]
    theft, door, noise = (m.json()["id"] for m in made)
    # Nothing is shared yet: police read an empty list and every id as missing, property too
    # (even for cases in its own compound).
    assert client.get("/api/v1/cases", headers=police).json()["total"] == 0
    for headers in (police, prop):
        assert client.get(f"/api/v1/cases/{door}", headers=headers).status_code == 404

    shared = client.post(
        f"/api/v1/cases/{theft}/shares",
        json={"user_id": police_id, "purpose": "investigate", "note": "请调取南门监控"},
        headers=staff,
    )
    assert shared.status_code == 201, shared.text
    assert (shared.json()["purpose_label"], shared.json()["active"]) == ("协查", True)
    to_property = {"user_id": property_id, "purpose": "repair"}
    assert client.post(f"/api/v1/cases/{door}/shares", json=to_property, headers=staff).status_code == 201

    assert [c["id"] for c in client.get("/api/v1/cases", headers=police).json()["items"]] == [theft]
    seen = client.get(f"/api/v1/cases/{theft}", headers=police).json()
    assert seen["reporter_name"] is None
    assert [c["id"] for c in client.get("/api/v1/cases", headers=prop).json()["items"]] == [door]
    for headers, own, others in ((police, theft, (door, noise)), (prop, door, (theft, noise))):
        for case_id in others:
            assert client.get(f"/api/v1/cases/{case_id}", headers=headers).status_code == 404
            assert client.get(f"/api/v1/cases/{case_id}/shares", headers=headers).status_code == 404
            taken = client.post(
                f"/api/v1/cases/{case_id}/actions", json={"action": "accept"}, headers=headers
            )
            assert taken.status_code == 404
        # a shared account reads; it neither acts on the case nor shares it on
        refused = client.post(f"/api/v1/cases/{own}/actions", json={"action": "accept"}, headers=headers)
        assert refused.status_code == 403
        again = client.post(
            f"/api/v1/cases/{own}/shares", json={"user_id": police_id, "purpose": "repair"}, headers=headers
        )
        assert again.status_code == 404
    for headers in (other_police, far_police):
        assert client.get("/api/v1/cases", headers=headers).json()["total"] == 0
        for case_id in (theft, door, noise):
            assert client.get(f"/api/v1/cases/{case_id}", headers=headers).status_code == 404

    # the account must be police or property of the case's community
    for user_id in (far_property_id, 424242):
        wrong = client.post(
            f"/api/v1/cases/{noise}/shares", json={"user_id": user_id, "purpose": "repair"}, headers=staff
        )
        assert wrong.status_code == 422 and wrong.json() == {
            "detail": f"账号 #{user_id} 不是本社区的民警或物业",
            "field": "user_id",
        }
    no_purpose = client.post(f"/api/v1/cases/{noise}/shares", json={"user_id": police_id}, headers=staff)
    assert no_purpose.status_code == 422 and no_purpose.json()["errors"][0]["field"] == "purpose"
    twice = client.post(
        f"/api/v1/cases/{theft}/shares", json={"user_id": police_id, "purpose": "investigate"}, headers=staff
    )
    assert twice.status_code == 409

    share_id = shared.json()["id"]
    revoked = client.delete(f"/api/v1/cases/{theft}/shares/{share_id}", headers=staff)
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert client.get(f"/api/v1/cases/{theft}", headers=police).status_code == 404
    assert client.get("/api/v1/cases", headers=police).json()["total"] == 0
    listed = client.get(f"/api/v1/cases/{theft}/shares", headers=staff).json()
    assert [(s["user_name"], s["active"]) for s in listed] == [("majingguan", False)]
    audit = db.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(theft))).all()
    assert {"case.share", "case.unshare"} <= set(audit)
    reasons = db.scalars(select(AuditEntry.reason).where(AuditEntry.action == "case.share")).all()
    assert "协查：请调取南门监控" in reasons


def test_shared_cases_on_the_console_and_in_open311(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    here = f"community:{tree.community.id}"
    _, staff = bearer(sessions, "zhoumin", Role.STAFF, here)
    police_id = make_user(sessions, "majingguan", Role.POLICE, scopes=[here])
    police_key = token_for(sessions, police_id)
    body = {"category": "safety", "title": "电动车楼道充电", "household_id": tree.h101.id}
    shared, hidden = (client.post("/api/v1/cases", json=body, headers=staff).json()["id"] for _ in range(2))
    assert (
        client.post(
            f"/api/v1/cases/{shared}/shares",
            json={"user_id": police_id, "purpose": "security"},
            headers=staff,
        ).status_code
        == 201
    )

    feed = client.get("/open311/v2/requests.json", params={"api_key": police_key}).json()
    assert [r["service_request_id"] for r in feed] == [str(shared)]
    missing = client.get(f"/open311/v2/requests/{hidden}.json", params={"api_key": police_key})
    assert missing.status_code == 404 and missing.json() == [{"code": 404, "description": "事件不存在"}]

    assert login(client, "majingguan").status_code == 303
    page = client.get("/console/cases")
    assert page.status_code == 200 and f"#{shared}" in page.text and f"#{hidden}" not in page.text
    assert client.get(f"/console/cases/{shared}").status_code == 200
    assert client.get(f"/console/cases/{hidden}").status_code == 404
    assert client.get(f"/console/cases/{shared}/shares").status_code == 404


def test_the_office_shares_and_revokes_on_the_console(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    here = f"community:{tree.community.id}"
    _, staff = bearer(sessions, "zhoumin", Role.STAFF, here)
    police_id = make_user(sessions, "majingguan", Role.POLICE, scopes=[here])
    body = {"category": "safety", "title": "电动车楼道充电", "household_id": tree.h101.id}
    case_id = client.post("/api/v1/cases", json=body, headers=staff).json()["id"]
    make_user(sessions, "lijing", Role.STAFF, scopes=[here])
    assert login(client, "lijing").status_code == 303
    token = csrf_token(client)
    assert 'id="case-shares-link"' in client.get(f"/console/cases/{case_id}").text
    form = f"/console/cases/{case_id}/shares"
    wrong = client.post(form, data={"csrf_token": token, "user_id": "424242", "purpose": "investigate"})
    assert wrong.status_code == 422 and "账号 #424242 不是本社区的民警或物业" in wrong.text
    empty = client.post(form, data={"csrf_token": token, "user_id": "", "purpose": ""})
    assert empty.status_code == 422 and "共享给（账号编号）、用途" in empty.text
    fields = {"csrf_token": token, "user_id": str(police_id), "purpose": "investigate", "note": "调监控"}
    done = client.post(form, data=fields, follow_redirects=True)
    assert done.status_code == 200 and "已共享给 majingguan（协查）" in done.text and "调监控" in done.text
    share_id = client.get(f"/api/v1/cases/{case_id}/shares", headers=staff).json()[0]["id"]
    revoked = client.post(f"{form}/{share_id}/revoke", data={"csrf_token": token}, follow_redirects=True)
    assert revoked.status_code == 200 and "已撤销对 majingguan 的共享" in revoked.text
    again = client.post(f"{form}/{share_id}/revoke", data={"csrf_token": token})
    assert again.status_code == 409 and "该共享已撤销" in again.text


def test_property_also_sees_what_it_reported_or_was_dispatched(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    _, staff = bearer(sessions, "zhoumin", Role.STAFF, f"community:{tree.community.id}")
    property_id, prop = bearer(
        sessions, "wuye", Role.PROPERTY, f"compound:{tree.jinjiang.id}", f"community:{tree.community.id}"
    )
    own = client.post(
        "/api/v1/cases",
        json={"category": "repair", "title": "电梯异响", "household_id": tree.h101.id},
        headers=prop,
    )
    assert own.status_code == 201, own.text
    sent = client.post(
        "/api/v1/cases",
        json={"category": "repair", "title": "水管漏水", "household_id": tree.h102.id},
        headers=staff,
    ).json()["id"]
    client.post(f"/api/v1/cases/{sent}/actions", json={"action": "accept"}, headers=staff)
    dispatched = client.post(
        f"/api/v1/cases/{sent}/actions",
        json={"action": "dispatch", "assignee_user_id": property_id},
        headers=staff,
    )
    assert dispatched.status_code == 200, dispatched.text
    listed = {c["id"] for c in client.get("/api/v1/cases", headers=prop).json()["items"]}
    assert listed == {own.json()["id"], sent}
    arrived = client.post(f"/api/v1/cases/{sent}/actions", json={"action": "arrive"}, headers=prop)
    assert arrived.status_code == 200 and arrived.json()["state"] == "on_site"
