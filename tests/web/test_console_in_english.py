"""The console's bodies, notices and the services' errors follow the 中文/EN switch; Chinese stays first."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import User
from jiayuan.kernel.principal import Role
from jiayuan.notify.models import OutboxMessage
from jiayuan.registry.models import Compound
from tests.accounts.helpers import csrf_token, login
from tests.factories import add_gate, add_person, bearer_for, build_tree, make_user

CJK = re.compile(r"[\u3400-\u9fff]")


def _admin(client: TestClient, sessions: sessionmaker[Session], lang: str | None) -> tuple[str, str]:
    """Sign in an admin of a community (in `lang`, Chinese for None); its CSRF token and scope."""
    with sessions() as db:
        tree = build_tree(db)
    here = f"community:{tree.community.id}"
    make_user(sessions, "boss", Role.ADMIN, scopes=[here])
    if lang:
        client.cookies.set("lang", lang)
    login(client, "boss")
    return csrf_token(client), here


def _visible_text(html: str) -> str:
    """The page's text as read: no scripts, styles or tags (the language switch names 中文 in itself)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html).replace("中文", "")


@pytest.mark.parametrize(
    ("lang", "body", "refusal", "role"),
    [
        (None, "角色决定能做什么", "用户名 boss 已存在", "管理员/书记"),
        (
            "en",
            "The role decides what one can do",
            "Username boss already exists",
            "Administrator / Secretary",
        ),
    ],
)
def test_users_page_and_its_errors_follow_the_language(
    client: TestClient, sessions: sessionmaker[Session], lang: str | None, body: str, refusal: str, role: str
) -> None:
    token, here = _admin(client, sessions, lang)
    page = client.get("/console/users")
    assert body in page.text and role in page.text
    form = {
        "csrf_token": token,
        "username": "boss",
        "role": "staff",
        "password": "staff-pass-2026",
        "scopes": here,
    }
    refused = client.post("/console/users", data=form)
    assert refused.status_code == 409
    assert refusal in refused.text
    if lang == "en":
        assert not CJK.search(_visible_text(refused.text)), _visible_text(refused.text)


def test_a_notice_built_by_the_route_is_in_the_language_of_the_request(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    token, here = _admin(client, sessions, "en")
    form = {
        "csrf_token": token,
        "username": "gw01",
        "role": "grid",
        "password": "grid-pass-2026",
        "scopes": here,
    }
    added = client.post("/console/users", data=form)
    assert "Added user gw01" in added.text and "Grid worker" in added.text
    audit = client.get("/console/audit")
    assert "in all" in audit.text and "Add user" in audit.text  # the count and the action's label
    assert not CJK.search(_visible_text(audit.text).replace("gw01", ""))


def test_a_refused_login_says_why_in_english(client: TestClient, sessions: sessionmaker[Session]) -> None:
    make_user(sessions, "boss", Role.ADMIN)
    client.cookies.set("lang", "en")
    refused = login(client, "boss", password="not-the-password")
    assert refused.status_code == 401
    assert "Wrong username or password" in refused.text
    client.cookies.delete("lang")
    assert "用户名或密码错误" in login(client, "boss", password="not-the-password").text


def _resident_in(sessions: sessionmaker[Session]) -> int:
    with sessions() as db:
        compound = db.scalars(select(Compound).order_by(Compound.id)).first()
        assert compound is not None
        return add_person(db, compound.id, room="909")[1]


@pytest.mark.parametrize(
    ("lang", "check"),
    [(None, "请填写查看理由（至少 4 个字）"), ("en", "Give a reason for viewing (at least 4 characters)")],
)
def test_the_resident_forms_own_checks_follow_the_language(
    client: TestClient, sessions: sessionmaker[Session], lang: str | None, check: str
) -> None:
    token, here = _admin(client, sessions, lang)
    resident = _resident_in(sessions)
    body = {"field": "id_number", "reason": "看"}
    page = client.post(f"/console/residents/{resident}/reveal", data=body | {"csrf_token": token})
    assert check in page.text
    headers = bearer_for(sessions, "boss2", Role.ADMIN, here)
    api = client.post(f"/api/v1/residents/{resident}/reveal", json=body, headers=headers)
    assert api.status_code == 422 and api.json()["errors"][0]["message"] == check


def test_fallbacks_events_and_audit_targets_read_as_english(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    token, here = _admin(client, sessions, "en")
    community_id = int(here.removeprefix("community:"))
    with sessions() as db:
        boss = db.scalars(select(User).filter_by(username="boss")).one()
        for target in (f"user:{boss.id}", "user:999999"):
            db.add(
                OutboxMessage(
                    channel="sms",
                    target=target,
                    title="【上岗提醒】",
                    text="您今晚值班",
                    community_id=community_id,
                    state="pending",
                )
            )
        compound = db.scalars(select(Compound).filter_by(community_id=community_id)).first()
        assert compound is not None
        add_gate(db, compound, "t-gate", "南门", [("t-gate-qr", "qr", "南门 扫码")])
        db.commit()
    messages = client.get("/console/messages").text
    assert "boss (own mobile)" in messages and "Deleted account (own mobile)" in messages
    assert "（本人）" not in messages
    devices = client.get("/console/devices").text
    assert "<th>Device</th>" in devices and "<th>Events</th>" in devices and "<th>Cases</th>" not in devices
    users = client.get("/console/users").text
    assert ">Resident</option>" in users and ">Residents</option>" not in users  # a role: one resident
    form = {"csrf_token": token, "username": "gw02", "role": "grid", "password": "grid-pass-2026"}
    client.post("/console/users", data=form | {"scopes": here})
    assert re.search(r"User #\d+", client.get("/console/audit").text)
