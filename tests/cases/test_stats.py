"""Case statistics for a period and the actor's reach: times to accept, arrive and close (median, P90),
overdue and escalated cases, counts per grid, worker and category, patrol rounds done and missed; over
the API, the console page and the CLI; bad periods named in Chinese."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.cases.models import Case, CaseStep
from jiayuan.cases.schemas import ActionIn, CaseIn, Category
from jiayuan.cases.service import reporting, stats, workflow
from jiayuan.cli.main import app as cli
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.clock import LOCAL_TZ
from jiayuan.kernel.errors import Forbidden, Invalid
from jiayuan.kernel.principal import Principal, Role
from jiayuan.patrol import service as patrol
from jiayuan.patrol.schemas import CheckIn, PlanCameraIn, PlanIn, StartIn
from jiayuan.web.case_reports import case_statistics
from tests.accounts.helpers import login
from tests.factories import Tree, add_gate, build_tree, make_user, token_for

# Monday of 2026-W49 at 09:00 Beijing; "now" is that Friday evening.
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=LOCAL_TZ)
NOW = datetime(2026, 12, 4, 20, 0, tzinfo=LOCAL_TZ)
WEEK = stats.week_period("2026-W49")


@pytest.fixture
def tree(db: Session) -> Tree:
    built = build_tree(db)
    add_gate(db, built.jinjiang, "jjhy-gate1", "1号门", [("jjhy-gate1-cam", "cam", "1号门 摄像机")])
    db.commit()
    return built


@pytest.fixture
def people(sessions: sessionmaker[Session], tree: Tree) -> dict[str, Principal]:
    here = frozenset({tree.community.id})
    ids = {
        "zhoumin": make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"]),
        "lijing": make_user(sessions, "lijing", Role.STAFF, scopes=[f"community:{tree.community.id}"]),
        "wangwei": make_user(sessions, "wangwei", Role.GRID, scopes=[f"grid:{tree.grid.id}"]),
    }
    return {
        "staff": Principal(role=Role.STAFF, user_id=ids["zhoumin"], username="zhoumin", community_ids=here),
        "other": Principal(role=Role.STAFF, user_id=ids["lijing"], username="lijing", community_ids=here),
        "grid": Principal(
            role=Role.GRID, user_id=ids["wangwei"], username="wangwei", grid_ids=frozenset({tree.grid.id})
        ),
    }


def seed_week(db: Session, tree: Tree, people: dict[str, Principal], files: SnapshotFiles) -> dict[str, int]:
    """Four cases reported Monday 09:00: A closed, B on site, C untouched and overdue, D accepted (no grid);
    one more in the week before; a daily patrol at 08:00 done on Tuesday only."""
    staff, other, grid = people["staff"], people["other"], people["grid"]

    def report(category: Category, household: int, at: datetime) -> int:
        data = CaseIn(category=category, title=f"{category.label}一件", household_id=household)
        case_id = reporting.report_case(db, actor=staff, data=data).id
        db.execute(update(Case).where(Case.id == case_id).values(reported_at=at))
        db.execute(update(CaseStep).where(CaseStep.case_id == case_id).values(at=at))
        return case_id

    def act(actor: Principal, case_id: int, action: str, minutes: int, **extra: object) -> None:
        data = ActionIn.model_validate({"action": action, "note": "", **extra})
        workflow.act(db, actor=actor, case_id=case_id, data=data, now=MONDAY + timedelta(minutes=minutes))

    ids = {
        "a": report(Category.REPAIR, tree.h101.id, MONDAY),
        "b": report(Category.REPAIR, tree.h102.id, MONDAY),
        "c": report(Category.NOISE, tree.h101.id, MONDAY),
        "d": report(Category.SAFETY, tree.h201.id, MONDAY),
        "last_week": report(Category.NOISE, tree.h101.id, MONDAY - timedelta(days=3)),
    }
    for case_id, accepted, arrived in ((ids["a"], 10, 30), (ids["b"], 20, 60)):
        act(staff, case_id, "accept", accepted)
        act(staff, case_id, "dispatch", accepted + 1, assignee_user_id=grid.user_id)
        act(grid, case_id, "arrive", arrived)
    act(grid, ids["a"], "handle", 90)
    act(other, ids["a"], "verify", 100)
    act(staff, ids["a"], "close", 120)
    act(staff, ids["d"], "accept", 40)
    act(staff, ids["d"], "escalate", 41)
    db.execute(update(Case).where(Case.id == ids["c"]).values(due_at=MONDAY + timedelta(hours=1)))
    db.execute(update(Case).where(Case.id == ids["d"]).values(due_at=NOW + timedelta(days=60)))
    plan = patrol.create_plan(
        db,
        actor=staff,
        data=PlanIn(
            community_id=tree.community.id,
            name="每日巡查",
            every_minutes=24 * 60,
            window_start="08:00",
            window_end="08:00",
            grace_minutes=120,
            cameras=[PlanCameraIn(device_id="jjhy-gate1-cam", checklist=["画面正常"])],
        ),
    )
    tuesday = MONDAY + timedelta(days=1, hours=-1)
    begun = patrol.start_round(db, actor=staff, data=StartIn(plan_id=plan.id, slot=tuesday), now=tuesday)
    seen = CheckIn(device_id="jjhy-gate1-cam", answers={"画面正常": True})
    patrol.record_check(db, actor=staff, round_id=begun.id, data=seen, files=files, now=tuesday)
    patrol.finish_round(db, actor=staff, round_id=begun.id, now=tuesday)
    db.commit()
    return ids


def test_the_week_in_figures(db: Session, tree: Tree, people: dict[str, Principal], tmp_path: Path) -> None:
    seed_week(db, tree, people, SnapshotFiles(tmp_path))
    figures = case_statistics(db, actor=people["staff"], within=WEEK, now=NOW)
    assert (figures.total, figures.open, figures.closed, figures.overdue, figures.escalated) == (
        4,
        3,
        1,
        2,
        1,
    )
    assert (figures.to_accept.count, figures.to_accept.median_minutes, figures.to_accept.p90_minutes) == (
        3, 20.0, 40.0,
    )  # fmt: skip
    assert (figures.to_arrive.median_minutes, figures.to_arrive.p90_minutes) == (45.0, 60.0)
    assert (figures.to_close.count, figures.to_close.median_minutes) == (1, 120.0)
    assert [(r.label, r.total, r.open, r.overdue) for r in figures.by_grid] == [
        ("第一网格", 3, 2, 2),
        ("未划网格", 1, 1, 0),
    ]
    assert [(r.label, r.total, r.closed) for r in figures.by_worker] == [("wangwei", 2, 1), ("未派遣", 2, 0)]
    assert [(r.label, r.total) for r in figures.by_category] == [
        ("设施报修", 2),
        ("噪音扰民", 1),
        ("安全隐患", 1),
    ]
    assert figures.patrol is not None
    # slots at 08:00 Monday to Friday have come (Saturday's and Sunday's not yet): Tuesday's done
    assert (figures.patrol.slots, figures.patrol.done, figures.patrol.missed) == (5, 1, 4)

    mine = case_statistics(db, actor=people["grid"], within=WEEK, now=NOW)
    assert (mine.total, [r.label for r in mine.by_grid]) == (3, ["第一网格"])
    police = Principal(role=Role.POLICE, user_id=99, community_ids=frozenset({tree.community.id}))
    with pytest.raises(Forbidden, match="无权查看事件统计"):
        case_statistics(db, actor=police, within=WEEK, now=NOW)


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"week": "2026-W60"}, "week", "2026 年只有第 1–53 周"),
        ({"week": "2025-W53"}, "week", "2025 年只有第 1–52 周"),
        ({"week": "last week"}, "week", "格式不对"),
        ({"start": "2026-02-30"}, "start", "不是有效日期"),
        ({"start": "2026-12-05", "end": "2026-12-01"}, "end", "end 不能早于 start"),
        ({"start": "2024-01-01", "end": "2026-01-01"}, "end", "不能超过 366 天"),
        ({"week": "2026-W49", "start": "2026-12-01"}, "week", "只能给出一种"),
    ],
)
def test_a_bad_period_is_named(fields: dict[str, str], field: str, words: str) -> None:
    with pytest.raises(Invalid) as refused:
        stats.period(**fields)
    assert refused.value.field == field and words in refused.value.message


def test_over_http_the_console_and_the_cli(
    client: TestClient,
    sessions: sessionmaker[Session],
    db: Session,
    tree: Tree,
    people: dict[str, Principal],
    cli_env: None,
    tmp_path: Path,
) -> None:
    seed_week(db, tree, people, SnapshotFiles(tmp_path))
    headers = {"Authorization": f"Bearer {token_for(sessions, people['staff'].user_id or 0)}"}
    got = client.get("/api/v1/cases/stats", params={"week": "2026-W49"}, headers=headers)
    assert got.status_code == 200, got.text
    assert (got.json()["total"], got.json()["period_label"]) == (4, "2026 年第 49 周")
    bad = client.get("/api/v1/cases/stats", params={"week": "2026-W60"}, headers=headers)
    assert (
        bad.status_code == 422 and bad.json()["field"] == "week" and "只有第 1–53 周" in bad.json()["detail"]
    )
    police_id = make_user(sessions, "ma", Role.POLICE, scopes=[f"community:{tree.community.id}"])
    police = {"Authorization": f"Bearer {token_for(sessions, police_id)}"}
    assert client.get("/api/v1/cases/stats", headers=police).status_code == 403

    assert login(client, "zhoumin").status_code == 303
    page = client.get("/console/cases/stats", params={"week": "2026-W49"})
    assert page.status_code == 200
    for text in (
        "2026 年第 49 周",
        "第一网格",
        "设施报修",
        "漏巡",
        'href="/console/cases/report?week=2026-W49&amp;format=pdf"',
    ):
        assert text in page.text, text
    refused = client.get("/console/cases/stats", params={"start": "yesterday"})
    assert refused.status_code == 422 and "start “yesterday”不是有效日期" in refused.text

    ran = CliRunner().invoke(cli, ["cases", "stats", "--week", "2026-W49", "--json", "--as", "zhoumin"])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["by_category"][0]["label"] == "设施报修"
    wrong = CliRunner().invoke(cli, ["cases", "stats", "--week", "2026-W60", "--as", "zhoumin"])
    assert wrong.exit_code == 1 and "week" in wrong.output and "只有第 1–53 周" in wrong.output
