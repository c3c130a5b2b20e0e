"""The English switch on the case, duty, patrol and message pages: their own texts, the labels they show and
the errors their services raise come out in English with the `lang=en` cookie, in Chinese without."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.kernel.principal import ROLE_LABELS, Role
from tests.accounts.helpers import csrf_token, login
from tests.factories import Tree, make_user

CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]")
# What the registry tree names in Chinese is data: it shows as it was typed, whatever the language. The
# account roles' names are marked with the accounts (kernel.principal), not here.
DATA = ("紫荆路社区", "第一网格", "锦江花园", "森海一期", "1号楼", "1单元", *ROLE_LABELS.values())


def _chinese_left(html: str) -> list[str]:
    """The Chinese in a page's main part once the data is taken out."""
    main = html.split('<main class="container">', 1)[1].split("</main>", 1)[0]
    for name in DATA:
        main = main.replace(name, "")
    return sorted({line.strip()[:80] for line in main.splitlines() if CJK.search(line)})


def test_the_pages_and_their_errors_follow_the_english_switch(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    make_user(sessions, "shuji", Role.ADMIN, scopes=[f"community:{tree.community.id}"])
    assert login(client, "shuji").status_code == 303
    token = csrf_token(client)
    made = client.post(
        "/api/v1/cases",
        json={"category": "repair", "title": "Entry phone broken", "household_id": tree.h101.id},
        headers={"X-CSRF-Token": token},
    )
    assert made.status_code == 201, made.text
    case_id = made.json()["id"]
    accepted = client.post(
        f"/console/cases/{case_id}/actions", data={"action": "accept", "csrf_token": token}
    )
    assert accepted.status_code == 200 and "已受理，现在是“受理”" in accepted.text

    refused = client.post(f"/console/cases/{case_id}/actions", data={"action": "close", "csrf_token": token})
    assert (
        refused.status_code == 409 and "事件处于“受理”，不能结案；此时可以：派遣、退回、升级" in refused.text
    )

    client.cookies.set("lang", "en")
    refused = client.post(f"/console/cases/{case_id}/actions", data={"action": "close", "csrf_token": token})
    assert refused.status_code == 409
    assert (
        "The case is at the “Accept” step and cannot “Close”; possible now: Dispatch, Return, Escalate"
        in refused.text
    )
    assert _chinese_left(refused.text) == []
    for path in (
        "/console/cases",
        f"/console/cases/{case_id}",
        f"/console/cases/{case_id}/shares",
        "/console/cases/deadlines",
        "/console/cases/stats",
        "/console/duty",
        "/console/patrol",
        "/console/patrol/plans/new",
        "/console/messages",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        shown = (
            re.sub(r"<tbody>.*?</tbody>", "", page.text, flags=re.S)
            if path == "/console/messages"
            else page.text
        )
        assert _chinese_left(shown) == [], path
    board = client.get("/console/cases").text
    assert "Repair request" in board and "Assigned to me" in board and "Accept" in board
    # What was sent to people by WeCom, DingTalk or SMS is shown as it was sent: in Chinese.
    outbox = client.get("/console/messages").text
    assert "【新事件】设施报修" in outbox and "No messages." not in outbox and "Channel" in outbox
    plan = {"csrf_token": token, "name": "Night round", "every_minutes": "5", "window_start": "20:00"}
    plan |= {"window_end": "06:00"}
    unplanned = client.post("/console/patrol/plans", data=plan)
    assert unplanned.status_code == 422
    assert "Input not valid: " in unplanned.text and "Choose at least one camera" in unplanned.text
    assert "The interval must be 15 to 1440 minutes" in unplanned.text
    wrong_week = client.get("/console/cases/stats", params={"week": "2026-W99"})
    assert wrong_week.status_code == 422 and "week “2026-W99” does not exist: 2026 has weeks 1–53 only" in (
        wrong_week.text
    )

    client.cookies.delete("lang")
    unplanned = client.post("/console/patrol/plans", data=plan)
    assert "输入有误：" in unplanned.text and "巡查间隔须为 15 至 1440 分钟" in unplanned.text
    board = client.get("/console/cases").text
    assert "设施报修" in board and "派给我的" in board and "Repair request" not in board
