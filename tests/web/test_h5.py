"""The resident's H5 face: sign-in by phone and one-time code (read from the outbox), the e-pass, visitor
passes, 一键报警 and reports; a resident reaches only their own household whatever ids they type."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import pytest
import zxingcpp
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import LoginThrottle, SignInCode, User
from jiayuan.cases.models import Case
from jiayuan.cases.schemas import ActionIn, CaseIn, Category
from jiayuan.cases.service import reads, reporting, workflow
from jiayuan.cases.states import CaseAction, CaseState
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal, Role
from jiayuan.notify.models import OutboxMessage
from jiayuan.registry.service import residents
from tests.accounts.helpers import login
from tests.factories import Tree, build_tree, make_user, person

PHONE = "13812345678"
NEIGHBOUR_PHONE = "13987654321"
SYSTEM = Principal.system()


@dataclass(frozen=True)
class Homes:
    """The tree, the resident of 101 (PHONE) and the neighbour in 102 (NEIGHBOUR_PHONE)."""

    tree: Tree
    me: int
    neighbour: int


@pytest.fixture
def homes(db: Session, sessions: sessionmaker[Session], vault: PiiVault) -> Homes:
    tree = build_tree(db)
    with unit_of_work(sessions) as session:
        me = residents.add_resident(
            session, actor=SYSTEM, vault=vault, household_id=tree.h101.id,
            data=person("刘莹", date(1980, 3, 1), 2, phone=PHONE),
        )  # fmt: skip
        neighbour = residents.add_resident(
            session, actor=SYSTEM, vault=vault, household_id=tree.h102.id,
            data=person("王强", date(1975, 5, 1), 3, phone=NEIGHBOUR_PHONE),
        )  # fmt: skip
    return Homes(tree, me.id, neighbour.id)


def _form_token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def ask_code(client: TestClient, phone: str) -> httpx.Response:
    token = _form_token(client.get("/h5/login"))
    return client.post("/h5/login/code", data={"phone": phone, "csrf_token": token})


def last_code(sessions: sessionmaker[Session]) -> str:
    with sessions() as session:
        message = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.subject_type == "sign_in")
            .order_by(OutboxMessage.id.desc())
        ).first()
        assert message is not None
        found = re.search(r"验证码为 (\d{6})", message.text)
        assert found, message.text
        return found.group(1)


def sign_in(client: TestClient, sessions: sessionmaker[Session], phone: str = PHONE) -> httpx.Response:
    sent = ask_code(client, phone)
    assert sent.status_code == 200, sent.text
    return client.post(
        "/h5/login",
        data={"phone": phone, "code": last_code(sessions), "csrf_token": _form_token(sent)},
        follow_redirects=False,
    )


def today() -> str:
    """Today in Beijing, as the date field sends it."""
    return local(utcnow()).date().isoformat()


def csrf(client: TestClient) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]*)">', client.get("/h5").text)
    assert found and found.group(1)
    return found.group(1)


def close_case(sessions: sessionmaker[Session], homes: Homes, case_id: int) -> None:
    """Take a resident's case through the whole loop: the grid worker handles it, the office closes it."""
    worker = make_user(sessions, "grid01", Role.GRID, scopes=[f"grid:{homes.tree.grid.id}"])
    with unit_of_work(sessions) as session:
        for action in (CaseAction.ACCEPT, CaseAction.DISPATCH, CaseAction.ARRIVE, CaseAction.HANDLE):
            workflow.act(
                session, actor=SYSTEM, case_id=case_id, data=ActionIn(action=action, assignee_user_id=worker)
            )
        staff = Principal(
            role=Role.STAFF,
            user_id=999,
            username="checker",
            community_ids=frozenset({homes.tree.community.id}),
        )
        for action in (CaseAction.VERIFY, CaseAction.CLOSE):
            workflow.act(session, actor=staff, case_id=case_id, data=ActionIn(action=action))


def test_a_resident_signs_in_with_the_code_from_the_outbox(
    client: TestClient, sessions: sessionmaker[Session], homes: Homes
) -> None:
    first = client.get("/h5", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/h5/login"
    signed = sign_in(client, sessions)
    assert signed.status_code == 303 and signed.headers["location"] == "/h5"
    home = client.get("/h5")
    assert home.status_code == 200 and "我的通行码" in home.text
    with sessions() as session:
        user = session.scalars(select(User).where(User.role == Role.RESIDENT.value)).one()
        scopes = {(s.kind, s.ref_id) for s in user.scopes}
        stored = session.scalars(select(SignInCode)).all()
    assert scopes == {
        ("community", homes.tree.community.id),
        ("household", homes.tree.h101.id),
        ("person", homes.me),
    }
    assert user.password_hash is None and PHONE not in user.username
    assert stored == []  # a used code is gone
    # Signing out comes back to the resident sign-in; a second sign-in (a minute later: the resend wait
    # is over) finds the same account.
    out = client.post(
        "/logout", data={"csrf_token": csrf(client), "next": "/h5/login"}, follow_redirects=False
    )
    assert out.headers["location"] == "/h5/login"
    elsewhere = client.post("/logout", data={"next": "https://evil.example/"}, follow_redirects=False)
    assert elsewhere.headers["location"] == "/login"
    with unit_of_work(sessions) as session:
        session.execute(delete(LoginThrottle))
    assert sign_in(client, sessions).status_code == 303
    with sessions() as session:
        assert len(session.scalars(select(User).where(User.role == Role.RESIDENT.value)).all()) == 1


def test_asking_for_a_code_says_nothing_about_who_is_registered(
    client: TestClient, sessions: sessionmaker[Session], homes: Homes
) -> None:
    def cleaned(response: httpx.Response, phone: str) -> str:
        return re.sub(r'value="[^"]*"', "", response.text.replace(phone, "PHONE"))

    known = ask_code(client, PHONE)
    unknown = ask_code(client, "13700000000")
    assert known.status_code == unknown.status_code == 200
    assert cleaned(known, PHONE) == cleaned(unknown, "13700000000")
    with sessions() as session:
        assert len(session.scalars(select(SignInCode)).all()) == 2
        messages = session.scalars(select(OutboxMessage)).all()
    assert len(messages) == 1 and "138****5678" in messages[0].text and PHONE not in messages[0].text
    # The unregistered number's stored code signs nobody in, with the same words as a wrong code.
    refused = client.post(
        "/h5/login", data={"phone": "13700000000", "code": "123456", "csrf_token": _form_token(unknown)}
    )
    assert refused.status_code == 401 and "验证码不正确" in refused.text


def test_wrong_codes_run_out_and_resending_is_throttled(
    client: TestClient, sessions: sessionmaker[Session], homes: Homes
) -> None:
    sent = ask_code(client, PHONE)
    token = _form_token(sent)
    code = last_code(sessions)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        answer = client.post("/h5/login", data={"phone": PHONE, "code": wrong, "csrf_token": token})
        assert answer.status_code == 401 and f"还可以再试 {left} 次" in answer.text
    spent = client.post("/h5/login", data={"phone": PHONE, "code": wrong, "csrf_token": token})
    assert spent.status_code == 429 and "错误次数过多" in spent.text
    late = client.post("/h5/login", data={"phone": PHONE, "code": code, "csrf_token": token})
    assert late.status_code == 401  # the right code no longer works
    again = client.post("/h5/login/code", data={"phone": PHONE, "csrf_token": token})
    assert again.status_code == 429 and "过于频繁" in again.text
    bad = client.post("/h5/login/code", data={"phone": "12345", "csrf_token": token})
    assert bad.status_code == 422 and "11 位手机号" in bad.text
    forged = client.post("/h5/login/code", data={"phone": PHONE, "csrf_token": "forged"})
    assert forged.status_code == 403 and "页面已过期" in forged.text


def test_only_admins_read_the_codes_on_the_console(
    client: TestClient, sessions: sessionmaker[Session], homes: Homes
) -> None:
    ask_code(client, PHONE)
    code = last_code(sessions)
    community = homes.tree.community.id
    make_user(sessions, "shuji", Role.ADMIN, scopes=[f"community:{community}"])
    make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{community}"])
    assert login(client, "zhoumin").status_code == 303
    staff_view = client.get("/console/messages").text
    assert "居民登录验证码" in staff_view and code not in staff_view and "仅管理员可见" in staff_view
    client.cookies.clear()
    assert login(client, "shuji").status_code == 303
    admin_view = client.get("/console/messages").text
    assert code in admin_view and PHONE not in admin_view


def test_other_roles_are_told_the_page_is_for_residents(
    client: TestClient, sessions: sessionmaker[Session], homes: Homes
) -> None:
    make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{homes.tree.community.id}"])
    assert login(client, "zhoumin").status_code == 303
    for path in ("/h5", "/h5/visitors", "/h5/sos", "/h5/cases"):
        page = client.get(path)
        assert page.status_code == 403 and "居民页面只供居民使用" in page.text, path
    assert client.get("/api/v1/h5/pass").status_code == 403


def test_the_e_pass_is_mine_and_renews(
    client: TestClient, sessions: sessionmaker[Session], homes: Homes
) -> None:
    sign_in(client, sessions)
    first = client.get("/api/v1/h5/pass").json()
    second = client.get("/api/v1/h5/pass").json()
    assert first["qr"].startswith("data:image/svg+xml") and first["qr"] != second["qr"]
    assert 5 <= first["refresh_in_s"] < 60
    client.cookies.clear()
    assert client.get("/api/v1/h5/pass").status_code == 401


def test_sos_tells_who_is_coming_and_a_double_press_makes_one_case(
    client: TestClient, sessions: sessionmaker[Session], homes: Homes
) -> None:
    sign_in(client, sessions)
    token = csrf(client)
    raised = client.post(
        "/api/v1/h5/sos",
        json={"latitude": 34.75, "longitude": 113.02, "accuracy_m": 20},
        headers={"X-CSRF-Token": token},
    )
    assert raised.status_code == 201, raised.text
    again = client.post("/api/v1/h5/sos", json={}, headers={"X-CSRF-Token": token})
    case_id = raised.json()["case_id"]
    assert again.json()["case_id"] == case_id
    assert client.post("/api/v1/h5/sos", json={}).status_code == 403  # no CSRF token
    assert (
        client.post("/api/v1/h5/sos", json={"latitude": 500}, headers={"X-CSRF-Token": token}).status_code
        == 422
    )
    worker = make_user(sessions, "grid01", Role.GRID, scopes=[f"grid:{homes.tree.grid.id}"])
    with unit_of_work(sessions) as session:
        shown = reads.show_case(session, actor=SYSTEM, case_id=case_id)
        assert shown.category.value == "sos" and shown.source.value == "resident"
        assert "北纬 34.75000" in shown.description and shown.household_id == homes.tree.h101.id
        workflow.act(session, actor=SYSTEM, case_id=case_id, data=ActionIn(action=CaseAction.ACCEPT))
        workflow.act(
            session, actor=SYSTEM, case_id=case_id,
            data=ActionIn(action=CaseAction.DISPATCH, assignee_user_id=worker),
        )  # fmt: skip
    status = client.get(f"/api/v1/h5/cases/{case_id}").json()
    assert status["helper"] == "grid01" and "正在赶来" in status["headline"]
    assert [s["text"] for s in status["steps"]][-1] == "已派工作人员处理"
    assert "assignee_user_id" not in status and "grid01（" not in str(status)
    page = client.get(f"/h5/cases/{case_id}")
    assert page.status_code == 200 and "正在赶来" in page.text


def test_a_report_is_followed_and_reopened(
    client: TestClient, sessions: sessionmaker[Session], homes: Homes
) -> None:
    sign_in(client, sessions)
    token = csrf(client)
    missing = client.post(
        "/h5/report", data={"category": "", "description": "灯坏了很久", "csrf_token": token}
    )
    assert missing.status_code == 422 and "请选择问题类别" in missing.text
    short = client.post("/h5/report", data={"category": "repair", "description": "坏", "csrf_token": token})
    assert short.status_code == 422 and "至少 4 个字" in short.text
    made = client.post(
        "/h5/report",
        data={
            "category": "repair",
            "description": "5楼楼道灯不亮已经三天",
            "place": "5楼",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    case_id = int(made.headers["location"].rsplit("/", 1)[1])
    assert "5楼楼道灯不亮" in client.get("/h5/cases").text
    close_case(sessions, homes, case_id)
    page = client.get(f"/h5/cases/{case_id}")
    assert "重新打开" in page.text and "已结案" in page.text
    reopened = client.post(
        f"/h5/cases/{case_id}/reopen", data={"note": "灯又坏了", "csrf_token": token}, follow_redirects=False
    )
    assert reopened.status_code == 303
    with sessions() as session:
        assert reads.show_case(session, actor=SYSTEM, case_id=case_id).state is CaseState.ACCEPTED


def test_a_resident_reaches_only_their_own_household(
    client: TestClient, sessions: sessionmaker[Session], homes: Homes
) -> None:
    # The neighbour signs in, invites a visitor and reports a problem.
    sign_in(client, sessions, NEIGHBOUR_PHONE)
    token = csrf(client)
    invited = client.post(
        "/h5/visitors",
        data={"name": "赵六", "phone": "13600000001", "day": today(), "days": 1, "entries": 2,
              "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert invited.status_code == 303, invited.text
    their_visitor = int(invited.headers["location"].rsplit("/", 1)[1])
    share = client.get(f"/h5/visitors/{their_visitor}")
    their_token = re.search(r"/h5/v/(JY1\.[\w.-]+)/qr\.png", share.text)
    assert share.status_code == 200 and their_token
    assert client.get(f"/h5/v/{their_token.group(1)}").status_code == 200  # the shared link works signed out
    picture = client.get(f"/h5/v/{their_token.group(1)}/qr.png")
    decoded = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(picture.content)), formats=zxingcpp.BarcodeFormat.QRCode
    )  # a QR code only: a one-dimensional format can be misread in its modules
    assert picture.headers["content-type"] == "image/png" and [d.text for d in decoded] == [
        their_token.group(1)
    ]
    reported = client.post(
        "/h5/report", data={"category": "noise", "description": "楼上装修太吵", "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    their_case = int(reported.headers["location"].rsplit("/", 1)[1])
    client.post("/logout", data={"csrf_token": token})

    # I sign in and try their ids everywhere.
    sign_in(client, sessions)
    mine = csrf(client)
    assert "赵六" not in client.get("/h5/visitors").text
    assert "楼上装修太吵" not in client.get("/h5/cases").text
    assert client.get(f"/h5/visitors/{their_visitor}").status_code == 404
    cancel = client.post(f"/h5/visitors/{their_visitor}/cancel", data={"csrf_token": mine})
    assert cancel.status_code == 404
    assert client.get(f"/h5/cases/{their_case}").status_code == 404
    assert client.get(f"/api/v1/h5/cases/{their_case}").status_code == 404
    reopen = client.post(f"/h5/cases/{their_case}/reopen", data={"csrf_token": mine})
    assert reopen.status_code == 404
    # The household comes from the session: a household id slipped into the form is ignored.
    slipped = client.post(
        "/h5/visitors",
        data={"name": "钱七", "phone": "13600000002", "day": today(), "household_id": homes.tree.h102.id,
              "csrf_token": mine},
        follow_redirects=False,
    )  # fmt: skip
    assert client.get(slipped.headers["location"]).status_code == 200
    assert "钱七" in client.get("/h5/visitors").text
    # A visit years ahead is refused by name (it was a 500 from date arithmetic).
    far = client.post(
        "/h5/visitors",
        data={"name": "孙八", "phone": "13600000003", "day": "9999-12-31", "days": "7", "csrf_token": mine},
    )
    assert far.status_code == 422 and "来访日期最多可选 90 天以后" in far.text
    # A forged or resident pass is no visitor link; other people's pass API is out of reach.
    assert client.get("/h5/v/JY1.e30.AAAA").status_code == 404
    assert client.get("/h5/v/not-a-pass/qr.png").status_code == 404
    assert client.get("/api/v1/h5/cases/99999").status_code == 404
    assert (
        client.post(
            f"/api/v1/cases/{their_case}/actions", json={"action": "reopen"}, headers={"X-CSRF-Token": mine}
        ).status_code
        == 404
    )


def _photo() -> bytes:
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(picture, "PNG")
    return picture.getvalue()


def test_alarms_and_reports_carry_photos_and_are_taken_once(
    client: TestClient, sessions: sessionmaker[Session], homes: Homes
) -> None:
    sign_in(client, sessions)
    token = csrf(client)
    headers = {"X-CSRF-Token": token}

    def upload() -> int:
        sent = client.post("/api/v1/cases/attachments", files={"file": ("a.png", _photo())}, headers=headers)
        assert sent.status_code == 201, sent.text
        return int(sent.json()["id"])

    photo = upload()
    alarm = {"attachment_ids": [photo], "request_id": "alarm-0001"}
    first = client.post("/api/v1/h5/sos", json=alarm, headers=headers)
    assert first.status_code == 201, first.text
    case_id = first.json()["case_id"]
    shown = client.get(f"/api/v1/h5/cases/{case_id}").json()
    assert shown["steps"][0]["attachments"][0]["kind"] == "photo"
    assert client.get(shown["steps"][0]["attachments"][0]["url"]).headers["content-type"] == "image/jpeg"
    assert "step-photo" in client.get(f"/h5/cases/{case_id}").text
    # The report form: its request id makes a second press the same report.
    form = client.get("/h5/report").text
    request_id = re.search(r'name="request_id" value="([^"]+)"', form)
    assert request_id and 'capture="environment"' in form and 'accept="image/*"' in form
    report = {"category": "repair", "description": "水管漏水了", "csrf_token": token,
              "request_id": request_id.group(1)}  # fmt: skip
    made = client.post("/h5/report", data=report | {"attachment_ids": str(upload())}, follow_redirects=False)
    again = client.post("/h5/report", data=report, follow_redirects=False)
    assert (
        made.status_code == again.status_code == 303 and made.headers["location"] == again.headers["location"]
    )
    tampered = client.post("/h5/report", data=report | {"attachment_ids": "1,x"})
    assert tampered.status_code == 422 and "没有上传成功" in tampered.text
    with sessions() as session:
        report_id = int(made.headers["location"].rsplit("/", 1)[1])
        assert len(reads.show_case(session, actor=SYSTEM, case_id=report_id).steps[0].attachments) == 1


def test_a_report_is_its_reporters_alone_not_the_whole_households(
    client: TestClient, sessions: sessionmaker[Session], homes: Homes, vault: PiiVault
) -> None:
    spouse_phone = "13511112222"
    with unit_of_work(sessions) as session:
        residents.add_resident(
            session, actor=SYSTEM, vault=vault, household_id=homes.tree.h101.id,
            data=person("张伟", date(1979, 4, 1), 5, phone=spouse_phone),
        )  # fmt: skip
        staff = Principal(
            role=Role.STAFF,
            user_id=999,
            username="zhoumin",
            community_ids=frozenset({homes.tree.community.id}),
        )
        about_us = reporting.report_case(
            session,
            actor=staff,
            data=CaseIn(category=Category.NOISE, title="邻居反映101噪音", household_id=homes.tree.h101.id),
        )
    sign_in(client, sessions, spouse_phone)
    token = csrf(client)
    made = client.post(
        "/h5/report", data={"category": "repair", "description": "厨房水管漏水", "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    case_id = int(made.headers["location"].rsplit("/", 1)[1])
    worker = make_user(sessions, "grid01", Role.GRID, scopes=[f"grid:{homes.tree.grid.id}"])
    checker = Principal(
        role=Role.STAFF, user_id=998, username="checker", community_ids=frozenset({homes.tree.community.id})
    )
    with unit_of_work(sessions) as session:
        for action in (CaseAction.ACCEPT, CaseAction.DISPATCH, CaseAction.ARRIVE, CaseAction.HANDLE):
            workflow.act(
                session, actor=SYSTEM, case_id=case_id, data=ActionIn(action=action, assignee_user_id=worker)
            )
        for action in (CaseAction.VERIFY, CaseAction.CLOSE):
            workflow.act(session, actor=checker, case_id=case_id, data=ActionIn(action=action))
    client.post("/logout", data={"csrf_token": token})
    with unit_of_work(sessions) as session:
        session.execute(delete(LoginThrottle))

    # Another member of the flat sees neither the spouse's report (it may be about them) nor the
    # office's case about the flat, and cannot reopen what is not theirs.
    sign_in(client, sessions)
    mine = csrf(client)
    listing = client.get("/h5/cases").text
    assert "厨房水管漏水" not in listing and "邻居反映101噪音" not in listing
    assert client.get(f"/h5/cases/{case_id}").status_code == 404
    assert client.get(f"/api/v1/h5/cases/{case_id}").status_code == 404
    refused = client.post(f"/h5/cases/{case_id}/reopen", data={"csrf_token": mine})
    assert refused.status_code == 404
    assert client.get(f"/h5/cases/{about_us.id}").status_code == 404


def test_reopening_follows_the_configured_days(
    app: FastAPI, client: TestClient, sessions: sessionmaker[Session], homes: Homes
) -> None:
    sign_in(client, sessions)
    token = csrf(client)
    made = client.post(
        "/h5/report", data={"category": "sanitation", "description": "垃圾桶满了没人清", "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    case_id = int(made.headers["location"].rsplit("/", 1)[1])
    close_case(sessions, homes, case_id)
    with unit_of_work(sessions) as session:
        session.get_one(Case, case_id).closed_at = utcnow() - timedelta(days=8)
    page = client.get(f"/h5/cases/{case_id}").text
    assert 'id="reopen"' not in page
    late = client.post(f"/h5/cases/{case_id}/reopen", data={"csrf_token": token})
    assert late.status_code == 403 and "结案超过 7 天" in late.text
    context = app.state.context
    context.settings = context.settings.model_copy(update={"case_reopen_days": 10})
    assert 'id="reopen"' in client.get(f"/h5/cases/{case_id}").text
    assert (
        client.post(
            f"/h5/cases/{case_id}/reopen", data={"csrf_token": token}, follow_redirects=False
        ).status_code
        == 303
    )


def test_in_production_without_sms_no_code_is_sent_where_an_admin_could_read_it(
    app: FastAPI, client: TestClient, sessions: sessionmaker[Session], homes: Homes
) -> None:
    context = app.state.context
    context.settings = context.settings.model_copy(update={"env": "production", "notify_sms_url": None})
    refused = ask_code(client, PHONE)
    assert refused.status_code == 503 and "尚未开通短信验证码登录" in refused.text
    with sessions() as session:
        assert session.scalars(select(OutboxMessage.id)).all() == []
        assert session.scalars(select(SignInCode.id)).all() == []


def test_the_resident_pages_follow_the_english_switch(
    client: TestClient, sessions: sessionmaker[Session], homes: Homes
) -> None:
    """A page's body, a refused form's message and the JSON the case page polls all follow the `lang`
    cookie; without it they stay Chinese."""
    sign_in(client, sessions)
    yesterday = (local(utcnow()).date() - timedelta(days=1)).isoformat()
    form = {"name": "赵六", "phone": "13600000001", "day": yesterday, "days": 1, "entries": 2}
    chinese = client.post("/h5/visitors", data=form | {"csrf_token": csrf(client)})
    assert chinese.status_code == 422
    assert "来访日期不能早于今天" in chinese.text and "本户的访客" in chinese.text
    raised = client.post("/api/v1/h5/sos", json={}, headers={"X-CSRF-Token": csrf(client)}).json()
    assert client.get(f"/api/v1/h5/cases/{raised['case_id']}").json()["headline"].startswith("求助已收到")

    client.cookies.set("lang", "en")
    english = client.post("/h5/visitors", data=form | {"csrf_token": csrf(client)})
    assert english.status_code == 422
    assert "The day of the visit cannot be before today" in english.text
    assert "Create visitor pass" in english.text and "visitors</h2>" in english.text
    assert "来访日期不能早于今天" not in english.text and "本户的访客" not in english.text
    status = client.get(f"/api/v1/h5/cases/{raised['case_id']}").json()
    assert status["headline"].startswith("Your call for help was received")
    assert status["steps"][0]["text"] == "Your SOS alarm was received; the duty officers are being notified"
    page = client.get(f"/h5/cases/{raised['case_id']}").text
    assert "Progress" in page and "进度" not in page
