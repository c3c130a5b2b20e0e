"""The phone's duty and patrol parts at 360 px: a grid worker (of the grid and its community) signs in for
today's shift and makes the due patrol round camera by camera, a finding opening a case."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts import passwords
from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service.users import create_user
from jiayuan.cases.models import Case
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.duty.schemas import DutyRole, PlaceKind, ShiftIn
from jiayuan.duty.service import shifts
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal, Role
from jiayuan.patrol import service as patrol
from jiayuan.patrol.schemas import PlanCameraIn, PlanIn
from jiayuan.settings import Settings
from tests.factories import add_grid, seed_site

PASSWORD = "grid-pass-2026"
SYSTEM = Principal.system()


@dataclass(frozen=True)
class Rounds:
    sessions: sessionmaker[Session]


@pytest.fixture(scope="module")
def rounds(live_settings: Settings) -> Iterator[Rounds]:
    """锦江花园 1号门 and its camera, a plan every 15 minutes all day, 第一网格 and its worker on duty."""
    passwords.configure(time_cost=1, memory_kib=1024)
    engine = make_engine(live_settings.database_url)
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as session:
        site = seed_site(session)
        grid = add_grid(session, site.community_id, "第一网格")
        worker = create_user(
            session, actor=SYSTEM, username="wangwei", display_name="王伟", role=Role.GRID, password=PASSWORD,
            scopes=[(ScopeKind.GRID, grid.id), (ScopeKind.COMMUNITY, site.community_id)],
        )  # fmt: skip
        plan = PlanIn(
            community_id=site.community_id, name="门岗巡查", every_minutes=15,
            cameras=[PlanCameraIn(device_id="jjhy-gate1-cam", checklist=["门口无人逗留", "道闸正常"])],
        )  # fmt: skip
        patrol.create_plan(session, actor=SYSTEM, data=plan)
        now = utcnow()
        shift = ShiftIn(
            community_id=site.community_id, user_id=worker.id, duty_role=DutyRole.GRID_WORKER,
            place_kind=PlaceKind.GRID, place_id=grid.id,
            starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=3),
        )  # fmt: skip
        shifts.add_shift(session, actor=SYSTEM, data=shift)
    yield Rounds(sessions)
    engine.dispose()


def test_the_worker_signs_in_for_duty_and_makes_the_due_round(
    page: Page, live_server: str, rounds: Rounds, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shots = tmp_path_factory.getbasetemp() / "screenshots"
    shots.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(f"{live_server}/m#duty")
    page.fill("input[name=username]", "wangwei")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/m"))
    page.click("a[data-tab=duty]")
    shift = page.locator("#m-shifts li")
    expect(shift).to_contain_text("网格员 · 第一网格")
    expect(shift).to_contain_text("正在值班")
    shift.locator("button", has_text="签到").click()
    expect(shift).to_contain_text("已签到")
    expect(shift.locator("button")).to_have_text("签退")
    page.screenshot(path=shots / "phone-duty-shift-360.png", full_page=True)

    page.click("a[data-tab=patrol]")
    due = page.locator("#m-slots li", has_text="待巡查").first
    expect(due).to_contain_text("门岗巡查")
    due.locator("button", has_text="开始巡查").click()
    camera = page.locator("#m-round fieldset")
    expect(camera).to_have_count(1)
    camera.get_by_label("道闸正常").uncheck()
    page.click("#m-round button[type=submit]")
    expect(page.locator("#m-round-error")).to_contain_text("请填写发现的问题")
    camera.locator("input[name=finding]").fill("道闸抬杆后不落")
    page.screenshot(path=shots / "phone-patrol-round-360.png", full_page=True)
    page.click("#m-round button[type=submit]")
    expect(page.locator("#m-banner-text")).to_have_text("本轮巡查已提交")
    expect(page.locator("#m-slots li", has_text="已完成")).to_contain_text("wangwei")
    expect(page.locator("#m-slots li", has_text="待巡查")).to_have_count(0)
    with unit_of_work(rounds.sessions) as session:
        assert session.scalars(select(Case.title).where(Case.source == "patrol")).all() == ["道闸抬杆后不落"]
