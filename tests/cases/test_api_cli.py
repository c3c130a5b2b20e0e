"""Cases over HTTP and from the command line: the same service, the same answers."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.cli.main import app as cli
from jiayuan.kernel.principal import Role
from tests.factories import Tree, bearer_for


def test_a_report_and_its_loop_over_http(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    resident = bearer_for(sessions, "liuying", Role.RESIDENT, f"household:{tree.h101.id}")
    staff = bearer_for(sessions, "zhoumin", Role.STAFF, f"community:{tree.community.id}")
    made = client.post("/api/v1/cases", json={"category": "noise", "title": "楼上深夜装修"}, headers=resident)
    assert made.status_code == 201, made.text
    case = made.json()
    assert (case["state"], case["state_label"], case["allowed"]) == (
        "reported",
        "上报",
        ["accept", "escalate"],
    )
    wrong = client.post(f"/api/v1/cases/{case['id']}/actions", json={"action": "close"}, headers=staff)
    assert wrong.status_code == 409 and wrong.json() == {
        "detail": "事件处于“上报”，不能结案；此时可以：受理、升级",
        "field": "action",
    }
    accepted = client.post(f"/api/v1/cases/{case['id']}/actions", json={"action": "accept"}, headers=staff)
    assert accepted.status_code == 200 and accepted.json()["state_label"] == "受理"
    listed = client.get("/api/v1/cases", params={"state": "accepted"}, headers=resident).json()
    assert [c["id"] for c in listed["items"]] == [case["id"]]
    bad = client.post("/api/v1/cases", json={"category": "ufo", "title": "x"}, headers=resident)
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {"category", "title"}


def test_cases_list_and_show_from_the_cli(
    cli_env: None, client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    staff = bearer_for(sessions, "zhoumin", Role.STAFF, f"community:{tree.community.id}")
    body = {"category": "repair", "title": "路灯不亮", "household_id": tree.h102.id}
    case_id = client.post("/api/v1/cases", json=body, headers=staff).json()["id"]
    listed = CliRunner().invoke(cli, ["cases", "list", "--json", "--as", "zhoumin"])
    assert listed.exit_code == 0, listed.output
    assert [c["id"] for c in json.loads(listed.stdout)["items"]] == [case_id]
    shown = CliRunner().invoke(cli, ["cases", "show", str(case_id)])
    assert shown.exit_code == 0 and "路灯不亮" in shown.stdout and "可以：受理、升级" in shown.stdout
    missing = CliRunner().invoke(cli, ["cases", "show", "424242", "--as", "zhoumin"])
    assert missing.exit_code != 0 and "事件不存在" in missing.output


def test_a_resident_raises_no_device_alarm_and_only_so_many_cases_an_hour(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    from jiayuan.cases.service import reporting

    resident = bearer_for(sessions, "liuying", Role.RESIDENT, f"household:{tree.h101.id}")
    forged = client.post(
        "/api/v1/cases", json={"category": "tailgating", "title": "有人尾随"}, headers=resident
    )
    assert forged.status_code == 422 and forged.json()["field"] == "category"
    assert "由门岗设备告警生成" in forged.json()["detail"]
    for n in range(reporting.RESIDENT_REPORTS_PER_HOUR):
        body = {"category": "sos" if n == 0 else "noise", "title": f"第 {n + 1} 次上报"}
        assert client.post("/api/v1/cases", json=body, headers=resident).status_code == 201
    flooded = client.post("/api/v1/cases", json={"category": "noise", "title": "再报一次"}, headers=resident)
    assert flooded.status_code == 429 and "一小时内最多上报 10 件" in flooded.json()["detail"]
