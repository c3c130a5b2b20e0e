"""An Open311 GeoReport v2 client against /open311/v2/: services, a create with an api_key, the list with
the spec's filters, one request, and state changes showing up; bad input answered in the spec's error
array, in Chinese, naming the field."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.kernel.clock import LOCAL_TZ
from jiayuan.kernel.principal import Role
from tests.factories import Tree, make_user, token_for

SPEC_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}  # fmt: skip


def key_for(sessions: sessionmaker[Session], name: str, role: Role, scope: str) -> str:
    return token_for(sessions, make_user(sessions, name, role, scopes=[scope]))


def test_a_client_walks_the_georeport_flow(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    staff_key = key_for(sessions, "zhoumin", Role.STAFF, f"community:{tree.community.id}")
    services = client.get("/open311/v2/services.json").json()
    repair = next(s for s in services if s["service_code"] == "repair")
    assert (repair["service_name"], repair["group"], repair["metadata"]) == ("设施报修", "诉求", False)
    assert len(services) == 13 and {s["group"] for s in services} == {"告警", "诉求"}
    created = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": staff_key,
            "service_code": "repair",
            "lat": "34.7536",
            "long": "113.0211",
            "address_string": "锦江花园南门岗亭旁",
            "description": "路灯不亮已三天",
            "email": "someone@example.com",
            "first_name": "王",
            "phone": "13900001111",
            "media_url": "https://example.com/lamp.jpg",
        },
    )
    assert created.status_code == 201, created.text
    [made] = created.json()
    request_id = made["service_request_id"]
    assert made["service_notice"].startswith("已受理上报")

    listed = client.get("/open311/v2/requests.json", params={"api_key": staff_key, "status": "open"}).json()
    assert [r["service_request_id"] for r in listed] == [request_id]
    [item] = listed
    assert set(item) == SPEC_FIELDS
    assert (item["status"], item["service_code"], item["service_name"]) == ("open", "repair", "设施报修")
    assert (item["lat"], item["long"], item["media_url"]) == (
        34.7536,
        113.0211,
        "https://example.com/lamp.jpg",
    )
    assert item["address"] == "锦江花园南门岗亭旁" and item["agency_responsible"] == "紫荆路社区居委会"
    assert item["status_notes"].startswith("上报")
    requested = datetime.fromisoformat(item["requested_datetime"])
    assert requested.utcoffset() == timedelta(hours=8)
    assert datetime.fromisoformat(item["expected_datetime"]) > requested  # the 受理 time limit
    assert "someone@example.com" not in created.text + str(listed) and "zhoumin" not in str(listed)

    for action in ("accept", "dispatch"):
        body = {"action": action, "note": "已派物业电工", "assignee_user_id": 1}
        moved = client.post(
            f"/api/v1/cases/{request_id}/actions", json=body, headers={"Authorization": f"Bearer {staff_key}"}
        )
        assert moved.status_code == 200, moved.text
    [one] = client.get(f"/open311/v2/requests/{request_id}.json", params={"api_key": staff_key}).json()
    assert (one["status"], one["status_notes"]) == ("open", "派遣：已派物业电工")
    assert one["updated_datetime"] >= item["updated_datetime"]
    for action in ("arrive", "handle"):
        client.post(f"/api/v1/cases/{request_id}/actions", json={"action": action},
                    headers={"Authorization": f"Bearer {staff_key}"})  # fmt: skip
    other_key = key_for(sessions, "lijing", Role.STAFF, f"community:{tree.community.id}")
    for action in ("verify", "close"):
        client.post(f"/api/v1/cases/{request_id}/actions", json={"action": action, "note": "灯已修好"},
                    headers={"Authorization": f"Bearer {other_key}"})  # fmt: skip
    [closed] = client.get(f"/open311/v2/requests/{request_id}.json", params={"api_key": staff_key}).json()
    assert (closed["status"], closed["status_notes"], closed["expected_datetime"]) == (
        "closed",
        "结案：灯已修好",
        None,
    )
    params = {"api_key": staff_key, "status": "closed", "service_code": "repair,noise"}
    assert [
        r["service_request_id"] for r in client.get("/open311/v2/requests.json", params=params).json()
    ] == [request_id]
    assert (
        client.get("/open311/v2/requests.json", params={"api_key": staff_key, "status": "open"}).json() == []
    )
    day = datetime.now(LOCAL_TZ).date()
    window = {"api_key": staff_key, "start_date": f"{day - timedelta(days=1)}T00:00:00+08:00",
              "end_date": f"{day + timedelta(days=1)}T00:00:00+08:00"}  # fmt: skip
    assert len(client.get("/open311/v2/requests.json", params=window).json()) == 1
    earlier = {**window, "end_date": f"{day - timedelta(days=1)}T12:00:00+08:00"}
    assert client.get("/open311/v2/requests.json", params=earlier).json() == []


@pytest.mark.parametrize(
    ("method", "fields", "status", "words"),
    [
        ("GET", {}, 401, "缺少 api_key"),
        ("GET", {"api_key": "jy_not-a-real-key"}, 403, "api_key 无效"),
        ("GET", {"service_code": "ufo"}, 400, "service_code “ufo”不存在"),
        ("GET", {"start_date": "yesterday"}, 400, "start_date 不是有效的日期时间"),
        ("GET", {"end_date": "2026-13-40"}, 400, "end_date 不是有效的日期时间"),
        ("GET", {"start_date": "2026-12-01", "end_date": "2026-11-01"}, 400, "end_date 不能早于 start_date"),
        ("GET", {"start_date": "2026-01-01", "end_date": "2026-12-01"}, 400, "不能超过 90 天"),
        ("GET", {"start_date": "0001-01-01"}, 400, "start_date 须在 1900 年到 2999 年之间"),
        ("GET", {"status": "pending"}, 400, "status 只能是 open 或 closed"),
        # Digits that are not ASCII, and more digits than any id, are no ids (they were a 500).
        ("GET", {"service_request_id": "\u00b2"}, 400, "service_request_id 须为正整数编号"),
        ("GET", {"service_request_id": "0" * 12 + "1" * 30}, 400, "service_request_id 须为正整数编号"),
        (
            "POST",
            {"service_code": "repair", "description": "路灯不亮", "address_id": "000000000001999999999"},
            400,
            "address_id 须为",
        ),
        (
            "POST",
            {
                "service_code": "repair",
                "description": "路灯不亮",
                "address_string": "南门",
                "jurisdiction_id": "\u00b9",
            },
            400,
            "jurisdiction_id 须为",
        ),
        ("POST", {"service_code": "ufo", "description": "路灯不亮"}, 400, "service_code “ufo”不存在"),
        ("POST", {"service_code": "repair", "description": "x"}, 400, "description 须写明情况"),
        ("POST", {"service_code": "repair", "description": "路灯不亮"}, 400, "请给出位置"),
        (
            "POST",
            {"service_code": "repair", "description": "路灯不亮", "lat": "91", "long": "1"},
            400,
            "lat 须在",
        ),
        ("POST", {"service_code": "repair", "description": "路灯不亮", "lat": "north"}, 400, "lat 须为数字"),
        (
            "POST",
            {"service_code": "repair", "description": "路灯不亮", "address_id": "abc"},
            400,
            "address_id 须为",
        ),
        (
            "POST",
            {
                "service_code": "repair",
                "description": "路灯不亮",
                "address_string": "南门",
                "media_url": "ftp://x",
            },
            400,
            "media_url 须为",
        ),
    ],
)
def test_bad_input_is_refused_in_the_spec_error_array(
    client: TestClient,
    sessions: sessionmaker[Session],
    tree: Tree,
    method: str,
    fields: dict[str, str],
    status: int,
    words: str,
) -> None:
    key = key_for(sessions, "zhoumin", Role.STAFF, f"community:{tree.community.id}")
    if "api_key" not in fields and status != 401:
        fields = {**fields, "api_key": key}
    if method == "GET":
        answer = client.get("/open311/v2/requests.json", params=fields)
    else:
        answer = client.post("/open311/v2/requests.json", data=fields)
    assert answer.status_code == status, answer.text
    [error] = answer.json()
    assert error["code"] == status and words in error["description"], error
    assert (
        client.get("/open311/v2/requests.json", params={"api_key": key}).json() == []
    )  # nothing half-written


def test_a_key_reaches_only_its_own_community(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    here = key_for(sessions, "zhoumin", Role.STAFF, f"community:{tree.community.id}")
    far = key_for(sessions, "yuanfang", Role.STAFF, f"community:{tree.other_community.id}")
    made = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": here,
            "service_code": "noise",
            "description": "深夜装修",
            "address_id": str(tree.h101.id),
        },
    )
    assert made.status_code == 201, made.text
    request_id = made.json()[0]["service_request_id"]
    assert client.get("/open311/v2/requests.json", params={"api_key": far}).json() == []
    missing = client.get(f"/open311/v2/requests/{request_id}.json", params={"api_key": far})
    assert missing.status_code == 404 and missing.json() == [{"code": 404, "description": "事件不存在"}]
    into_theirs = client.post(
        "/open311/v2/requests.json",
        data={"api_key": far, "service_code": "noise", "description": "深夜装修",
              "jurisdiction_id": str(tree.community.id), "address_string": "1号楼"},
    )  # fmt: skip
    assert into_theirs.status_code == 400 and into_theirs.json() == [
        {"code": 400, "description": f"jurisdiction_id {tree.community.id} 不是该 api_key 所属社区"}
    ]
    their_household = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": far,
            "service_code": "noise",
            "description": "深夜装修",
            "address_id": str(tree.h101.id),
        },
    )
    assert their_household.status_code == 400 and "不存在" in their_household.json()[0]["description"]
    bad_id = client.get("/open311/v2/requests/abc.json", params={"api_key": here})
    assert bad_id.status_code == 400 and bad_id.json()[0]["code"] == 400
