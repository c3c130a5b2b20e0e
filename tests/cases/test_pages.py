"""Console page 事件: the list within reach, a case with its history, an action per button."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.kernel.principal import Role
from tests.accounts.helpers import csrf_token, login
from tests.factories import Tree, make_user


def test_staff_work_a_case_from_the_console(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    assert login(client, "zhoumin").status_code == 303
    token = csrf_token(client)
    made = client.post(
        "/api/v1/cases",
        json={"category": "repair", "title": "单元门禁坏了", "household_id": tree.h101.id},
        headers={"X-CSRF-Token": token},
    )
    assert made.status_code == 201, made.text
    case_id = made.json()["id"]
    listing = client.get("/console/cases")
    assert listing.status_code == 200 and "单元门禁坏了" in listing.text and "设施报修" in listing.text
    assert "单元门禁坏了" not in client.get("/console/cases", params={"state": "closed"}).text
    page = client.get(f"/console/cases/{case_id}")
    assert re.findall(r'name="action" value="(\w+)"', page.text) == ["accept", "escalate"]
    done = client.post(
        f"/console/cases/{case_id}/actions",
        data={"action": "accept", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "已受理" in client.get(done.headers["location"]).text
    refused = client.post(f"/console/cases/{case_id}/actions", data={"action": "close", "csrf_token": token})
    assert refused.status_code == 409 and "不能结案；此时可以：派遣、退回、升级" in refused.text
    unnamed = client.post(f"/console/cases/{case_id}/actions", data={"action": "return", "csrf_token": token})
    assert unnamed.status_code == 422 and "退回须写明理由" in unnamed.text
    no_csrf = client.post(f"/console/cases/{case_id}/actions", data={"action": "escalate"})
    assert no_csrf.status_code == 403
    assert client.get("/console/cases/424242").status_code == 404


def test_admins_set_time_limits_on_the_console_and_staff_read_them(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    make_user(sessions, "shuji", Role.ADMIN, scopes=[f"community:{tree.community.id}"])
    make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    assert login(client, "shuji").status_code == 303
    token = csrf_token(client)
    page = client.get("/console/cases/deadlines")
    assert page.status_code == 200 and 'name="minutes.sos.accept" value="2"' in page.text
    target = f"/console/cases/deadlines?community_id={tree.community.id}"
    bad = client.post(
        target, data={"csrf_token": token, "minutes.sos.accept": "0", "minutes.noise.accept": "30"}
    )
    assert bad.status_code == 422 and "一键报警·受理：时限应为 1 到 43200 之间的整数分钟" in bad.text
    odd = client.post(
        target, data={"csrf_token": token, "minutes.sos.accept": "\u00b2"}
    )  # a digit int() refuses
    assert odd.status_code == 422 and "一键报警·受理：时限应为" in odd.text
    assert 'name="minutes.noise.accept" value="1440"' in client.get(target).text, "nothing half-saved"
    saved = client.post(
        target,
        data={"csrf_token": token, "minutes.sos.accept": "3", "minutes.noise.accept": "30"},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and "%E5%B7%B2%E4%BF%9D%E5%AD%98%202" in saved.headers["location"]
    assert 'name="minutes.sos.accept" value="3"' in client.get(target).text
    far = client.get(f"/console/cases/deadlines?community_id={tree.other_community.id}")
    assert far.status_code == 404

    client.post("/logout", data={"csrf_token": token})
    assert login(client, "zhoumin").status_code == 303
    read = client.get(target)
    assert (
        read.status_code == 200
        and "只有本社区的管理员可以修改" in read.text
        and "minutes.sos.accept" not in read.text
    )
    refused = client.post(target, data={"csrf_token": csrf_token(client), "minutes.sos.accept": "9"})
    assert refused.status_code == 403
