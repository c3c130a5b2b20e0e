"""Duty over HTTP, from the command line and in the console: the same service, the same answers."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.cli.main import app as cli
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.principal import Role
from tests.accounts.helpers import csrf_token, login
from tests.duty.helpers import Crew, build_crew
from tests.factories import make_user, token_for


@pytest.fixture
def crew(db: Session, sessions: sessionmaker[Session]) -> Crew:
    return build_crew(db, sessions)


def bearer(sessions: sessionmaker[Session], crew: Crew, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(sessions, crew.ids[who])}"}


def shift_json(crew: Crew, who: str, hours: tuple[int, int], **extra: object) -> dict[str, object]:
    now = utcnow().replace(microsecond=0)
    body: dict[str, object] = {
        "community_id": crew.community_id,
        "user_id": crew.ids[who],
        "duty_role": "grid_worker",
        "place_kind": "grid",
        "place_id": crew.grid_id,
        "starts_at": (now + timedelta(hours=hours[0])).isoformat(),
        "ends_at": (now + timedelta(hours=hours[1])).isoformat(),
    }
    body.update(extra)
    return body


def test_rosters_and_who_is_on_duty_over_http(
    client: TestClient, sessions: sessionmaker[Session], crew: Crew
) -> None:
    staff = bearer(sessions, crew, "staff")
    made = client.post("/api/v1/duty/shifts", json=shift_json(crew, "worker", (-1, 3)), headers=staff)
    assert made.status_code == 201, made.text
    cadre = shift_json(crew, "cadre", (-2, 6), duty_role="cadre", place_kind="community", place_id=None)
    assert client.post("/api/v1/duty/shifts", json=cadre, headers=staff).status_code == 201
    clash = client.post("/api/v1/duty/shifts", json=shift_json(crew, "worker", (2, 4)), headers=staff)
    assert clash.status_code == 422 and clash.json()["field"] == "starts_at", clash.text
    backwards = client.post("/api/v1/duty/shifts", json=shift_json(crew, "worker2", (4, 2)), headers=staff)
    assert backwards.status_code == 422 and backwards.json()["field"] == "ends_at"
    bad_role = client.post(
        "/api/v1/duty/shifts", json=shift_json(crew, "worker2", (5, 6), duty_role="boss"), headers=staff
    )
    assert bad_role.status_code == 422 and "duty_role" in bad_role.text
    now = client.get("/api/v1/duty/now", params={"community_id": crew.community_id}, headers=staff)
    assert now.status_code == 200
    on = {
        (p["place_kind"], p["place_id"]): [x["user_name"] for x in p["people"]] for p in now.json()["places"]
    }
    assert on[("grid", crew.grid_id)] == ["wangwei"] and on[("community", None)] == ["chenjun"]
    assert on[("grid", crew.grid2_id)] == []
    worker = bearer(sessions, crew, "worker")
    signed = client.post(f"/api/v1/duty/shifts/{made.json()['id']}/sign-in", headers=worker)
    assert signed.status_code == 200 and signed.json()["signed_in_at"]
    again = client.post(f"/api/v1/duty/shifts/{made.json()['id']}/sign-in", headers=worker)
    assert again.status_code == 409
    far = bearer(sessions, crew, "far_staff")
    for response in (
        client.get("/api/v1/duty/now", params={"community_id": crew.community_id}, headers=far),
        client.get("/api/v1/duty/now", params={"community_id": 999_999}, headers=far),
    ):
        assert response.status_code == 404 and response.json()["field"] == "community_id"
    assert (
        client.patch(f"/api/v1/duty/shifts/{made.json()['id']}", json={"note": "x"}, headers=far).status_code
        == 404
    )
    resident = bearer(sessions, crew, "resident")
    assert client.get("/api/v1/duty/now", headers=resident).status_code == 403
    gaps = client.get(
        "/api/v1/duty/gaps",
        params={
            "community_id": crew.community_id,
            "start": str(local(utcnow()).date()),
            "end": str(local(utcnow()).date()),
        },
        headers=staff,
    )
    assert gaps.status_code == 200 and {g["grid_id"] for g in gaps.json()} == {crew.grid_id, crew.grid2_id}


def test_templates_holidays_and_swaps_over_http(
    client: TestClient, sessions: sessionmaker[Session], crew: Crew
) -> None:
    staff = bearer(sessions, crew, "staff")
    template = {
        "community_id": crew.community_id,
        "user_id": crew.ids["worker"],
        "duty_role": "grid_worker",
        "place_kind": "grid",
        "place_id": crew.grid_id,
        "weekday": 1,
        "start": "20:00",
        "end": "08:00",
    }
    made = client.post("/api/v1/duty/templates", json=template, headers=staff)
    assert made.status_code == 201 and made.json()["overnight"] is True, made.text
    assert (
        client.post("/api/v1/duty/templates", json={**template, "start": "25:00"}, headers=staff).status_code
        == 422
    )
    holiday = {"community_id": crew.community_id, "day": "2026-12-14", "name": "调休"}
    assert client.post("/api/v1/duty/holidays", json=holiday, headers=staff).status_code == 201
    assert client.post("/api/v1/duty/holidays", json=holiday, headers=staff).status_code == 409
    applied = client.post(
        "/api/v1/duty/apply",
        json={"community_id": crew.community_id, "start": "2026-12-07", "end": "2026-12-20"},
        headers=staff,
    )
    assert applied.json() == {"created": 1, "already": 0, "holidays": ["2026-12-14"]}
    listed = client.get(
        "/api/v1/duty/shifts",
        params={"community_id": crew.community_id, "start": "2026-12-07", "end": "2026-12-20"},
        headers=staff,
    ).json()
    other = client.post(
        "/api/v1/duty/shifts",
        json={
            **shift_json(crew, "worker2", (0, 1)),
            "starts_at": "2026-12-09T08:00",
            "ends_at": "2026-12-09T20:00",
        },
        headers=staff,
    ).json()
    swapped = client.post(
        "/api/v1/duty/swaps",
        json={"first_shift_id": listed[0]["id"], "second_shift_id": other["id"]},
        headers=staff,
    )
    assert [s["user_name"] for s in swapped.json()] == ["zhaoli", "wangwei"], swapped.text
    assert client.delete(f"/api/v1/duty/templates/{made.json()['id']}", headers=staff).status_code == 204


def test_duty_now_from_the_command_line(
    cli_env: None, sessions: sessionmaker[Session], crew: Crew, client: TestClient
) -> None:
    staff = bearer(sessions, crew, "staff")
    assert (
        client.post(
            "/api/v1/duty/shifts", json=shift_json(crew, "worker", (-1, 1)), headers=staff
        ).status_code
        == 201
    )
    found = CliRunner().invoke(cli, ["duty", "now", "--json", "--as", "zhoumin"])
    assert found.exit_code == 0, found.output
    places = json.loads(found.output)["places"]
    assert [x["user_name"] for p in places if p["place_id"] == crew.grid_id for x in p["people"]] == [
        "wangwei"
    ]
    table = CliRunner().invoke(cli, ["duty", "now", "--community", str(crew.community_id)])
    assert table.exit_code == 0 and "wangwei" in table.output and "无人值班" in table.output
    refused = CliRunner().invoke(
        cli, ["duty", "now", "--community", str(crew.community_id), "--as", "yuanfang"]
    )
    assert refused.exit_code == 1 and "社区不存在" in refused.output
    gaps = CliRunner().invoke(
        cli,
        [
            "duty",
            "gaps",
            "--community",
            str(crew.community_id),
            "--from",
            "2026-12-07",
            "--to",
            "2026-12-07",
            "--json",
        ],
    )
    assert gaps.exit_code == 0 and len(json.loads(gaps.output)) == 2
    bad = CliRunner().invoke(
        cli, ["duty", "gaps", "--community", str(crew.community_id), "--from", "x", "--to", "y"]
    )
    assert bad.exit_code == 1 and "YYYY-MM-DD" in bad.output


def test_the_roster_page(client: TestClient, sessions: sessionmaker[Session], crew: Crew) -> None:
    assert login(client, "zhoumin").status_code == 303
    token = csrf_token(client)
    home = client.get("/console")
    assert 'href="/console/duty"' in home.text
    week = str(local(utcnow()).date())
    now = local(utcnow()).replace(second=0, microsecond=0, tzinfo=None)
    form = {
        "csrf_token": token,
        "community_id": str(crew.community_id),
        "user_id": str(crew.ids["worker"]),
        "duty_role": "grid_worker",
        "place": f"grid:{crew.grid_id}",
        "week": week,
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
    }
    added = client.post("/console/duty/shifts", data=form, follow_redirects=False)
    assert added.status_code == 303, added.text
    page = client.get(added.headers["location"])
    assert page.status_code == 200 and "已排班" in page.text
    now_part = page.text.split('id="duty-now"')[1].split("</section>")[0]
    assert "wangwei（网格员" in now_part and "无人值班" in now_part  # grid 2 and the gate are empty
    assert re.search(r'id="shift-\d+"', page.text) and "第二网格" in page.text
    clash = client.post("/console/duty/shifts", data=form)
    assert clash.status_code == 422 and "时间重叠" in clash.text and "starts_at" in clash.text
    shift_id = re.search(r'id="shift-(\d+)"', page.text).group(1)  # type: ignore[union-attr]
    template = {
        "csrf_token": token,
        "community_id": str(crew.community_id),
        "user_id": str(crew.ids["worker2"]),
        "duty_role": "grid_worker",
        "place": f"grid:{crew.grid2_id}",
        "weekday": "3",
        "start": "08:00",
        "end": "20:00",
    }
    made = client.post("/console/duty/templates", data=template, follow_redirects=False)
    assert made.status_code == 303
    assert "zhaoli" in client.get("/console/duty").text.split('id="duty-templates"')[1]
    cancelled = client.post(
        f"/console/duty/shifts/{shift_id}/cancel",
        data={"csrf_token": token, "community_id": str(crew.community_id)},
        follow_redirects=False,
    )
    assert cancelled.status_code == 303
    partial = client.get("/console/duty", params={"week": week}, headers={"HX-Request": "true"})
    assert (
        partial.text.lstrip().startswith('<section id="duty-week">')
        and f'id="shift-{shift_id}"' not in partial.text
    )
    assert client.post("/console/duty/shifts", data={**form, "csrf_token": ""}).status_code == 403
    fresh = client.get("/console/duty/now")
    assert fresh.status_code == 200 and "hx-trigger" in fresh.text


def test_residents_get_no_roster_page(
    client: TestClient, sessions: sessionmaker[Session], crew: Crew
) -> None:
    assert login(client, "liuying").status_code == 303
    assert 'href="/console/duty"' not in client.get("/console").text
    assert client.get("/console/duty").status_code == 403


def test_the_people_who_may_stand_duty(
    client: TestClient, sessions: sessionmaker[Session], crew: Crew
) -> None:
    staff = bearer(sessions, crew, "staff")
    found = client.get("/api/v1/duty/people", params={"community_id": crew.community_id}, headers=staff)
    assert found.status_code == 200
    assert [(p["name"], p["role_label"]) for p in found.json()] == [
        ("chenjun", "社区工作人员"),
        ("shuji", "管理员/书记"),
        ("sunqiang", "社区工作人员"),
        ("wangwei", "网格员"),
        ("zhaoli", "网格员"),
        ("zhouhong", "志愿者"),
        ("zhoumin", "社区工作人员"),
    ]
    far = client.get(
        "/api/v1/duty/people",
        params={"community_id": crew.community_id},
        headers=bearer(sessions, crew, "far_staff"),
    )
    assert far.status_code == 404 and far.json()["field"] == "community_id"
    worker = client.get(
        "/api/v1/duty/people",
        params={"community_id": crew.community_id},
        headers=bearer(sessions, crew, "worker"),
    )
    assert worker.status_code == 404
    assert login(client, "zhoumin").status_code == 303
    page = client.get("/console/duty")
    assert f'<option value="{crew.ids["worker2"]}">zhaoli（网格员' in page.text


def test_holidays_and_applying_from_the_console(
    client: TestClient, sessions: sessionmaker[Session], crew: Crew
) -> None:
    assert login(client, "zhoumin").status_code == 303
    token = csrf_token(client)
    base = {"csrf_token": token, "community_id": str(crew.community_id), "week": "2026-12-07"}
    template = {
        **base,
        "user_id": str(crew.ids["worker"]),
        "duty_role": "grid_worker",
        "place": f"grid:{crew.grid_id}",
        "weekday": "1",
        "start": "20:00",
        "end": "08:00",
    }
    assert client.post("/console/duty/templates", data=template, follow_redirects=False).status_code == 303
    made = client.post(
        "/console/duty/holidays", data={**base, "day": "2026-12-07", "name": "调休"}, follow_redirects=False
    )
    assert made.status_code == 303
    applied = client.post("/console/duty/apply", data={**base, "start": "2026-12-07", "end": "2026-12-13"})
    assert "已生成班次 0 个（已有 0 个），节假日 1 天未排" in applied.text
    holiday_id = re.search(r"/console/duty/holidays/(\d+)/remove", applied.text).group(1)  # type: ignore[union-attr]
    removed = client.post(f"/console/duty/holidays/{holiday_id}/remove", data=base, follow_redirects=False)
    assert removed.status_code == 303
    applied = client.post("/console/duty/apply", data={**base, "start": "2026-12-07", "end": "2026-12-13"})
    assert "已生成班次 1 个（已有 0 个）" in applied.text
    week = applied.text.split('id="duty-week"')[1]
    assert "wangwei" in week and "20:00–次日 08:00" in week
    bad = client.post("/console/duty/apply", data={**base, "start": "2026-12-13", "end": "2026-12-07"})
    assert bad.status_code == 422 and "结束日期不能早于开始日期（end）" in bad.text
    staff = bearer(sessions, crew, "staff")
    again = client.post(
        "/api/v1/duty/holidays",
        json={"community_id": crew.community_id, "day": "2027-01-01", "name": "元旦"},
        headers=staff,
    )
    assert client.delete(f"/api/v1/duty/holidays/{again.json()['id']}", headers=staff).status_code == 204
    assert client.delete(f"/api/v1/duty/holidays/{again.json()['id']}", headers=staff).status_code == 404


def test_the_big_screen_shows_who_is_on_duty_and_changes_nothing(
    client: TestClient, sessions: sessionmaker[Session], crew: Crew
) -> None:
    staff = bearer(sessions, crew, "staff")
    cadre = shift_json(crew, "cadre", (-1, 3), duty_role="cadre", place_kind="community", place_id=None)
    assert client.post("/api/v1/duty/shifts", json=cadre, headers=staff).status_code == 201
    assert (
        client.post(
            "/api/v1/duty/shifts", json=shift_json(crew, "worker", (-1, 3)), headers=staff
        ).status_code
        == 201
    )
    screen_id = make_user(sessions, "daping", Role.SCREEN, scopes=[f"community:{crew.community_id}"])
    screen = {"Authorization": f"Bearer {token_for(sessions, screen_id)}"}
    state = client.get("/api/v1/screen/state", headers=screen)
    assert state.status_code == 200, state.text
    assert state.json()["duty"] == [
        {"place": "全社区", "people": ["chenjun（值班干部）"]},
        {"place": "第一网格", "people": ["wangwei（网格员）"]},
    ]
    now = client.get("/api/v1/duty/now", params={"community_id": crew.community_id}, headers=screen)
    assert now.status_code == 200 and len(now.json()["places"]) == 4  # the community, two grids, the gate
    refused = client.post(
        "/api/v1/duty/shifts",
        json=shift_json(crew, "worker2", (5, 6), place_id=crew.grid2_id),
        headers=screen,
    )
    assert refused.status_code == 404 and refused.json()["field"] == "community_id"
    assert login(client, "daping").status_code == 303
    page = client.get("/console/duty")
    assert page.status_code == 200 and "chenjun（值班干部" in page.text
    assert 'id="duty-add-shift"' not in page.text  # read-only
