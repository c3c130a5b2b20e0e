"""The office makes a patrol plan on the 视频巡查 page, is told in Chinese what is wrong, then changes it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from jiayuan.accounts import passwords
from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service.users import create_user
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.principal import Principal, Role
from jiayuan.settings import Settings
from tests.factories import add_device, seed_site

PASSWORD = "secretary-pass-1"
CAM, CAM2 = "jjhy-gate1-cam", "jjhy-gate2-cam"


@pytest.fixture(scope="module", autouse=True)
def community(live_settings: Settings) -> None:
    """锦江花园 with a camera at each gate and the community's secretary."""
    passwords.configure(time_cost=1, memory_kib=1024)
    engine = make_engine(live_settings.database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        site = seed_site(session)
        add_device(session, site.gate2_id, CAM2, "cam", "2号门 摄像机")
        create_user(
            session, actor=Principal.system(), username="shuji", display_name="孙书记", role=Role.ADMIN,
            password=PASSWORD, scopes=[(ScopeKind.COMMUNITY, site.community_id)],
        )  # fmt: skip
    engine.dispose()


def test_a_plan_is_made_and_changed_on_the_page(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/console/patrol")
    page.fill("input[name=username]", "shuji")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/patrol"))

    page.click("#new-plan")
    page.fill("input[name=name]", "夜间视频巡查")
    page.fill("input[name=every_minutes]", "0")
    page.check(f"#cam-{CAM2} input[type=checkbox]")
    page.fill(f"#cam-{CAM2} textarea", "大门关闭\n无人逗留")
    page.check(f"#cam-{CAM} input[type=checkbox]")
    page.fill(f"#cam-{CAM} textarea", "道闸正常")
    page.fill(f"#cam-{CAM} input[name='order.{CAM}']", "2")
    page.fill(f"#cam-{CAM2} input[name='order.{CAM2}']", "1")
    page.click("#plan-form button")
    expect(page.locator("#plan-error")).to_contain_text("巡查间隔须为 15 至 1440 分钟")
    expect(page.locator("input[name=name]")).to_have_value("夜间视频巡查")  # what was typed stays

    page.fill("input[name=every_minutes]", "120")
    page.click("#plan-form button")
    expect(page.locator("[role=status]")).to_contain_text("已创建巡查计划“夜间视频巡查”")
    plan = page.locator("article[id^=plan-]")
    expect(plan).to_contain_text("每 120 分钟一轮，20:00–06:00")
    expect(plan).to_contain_text(re.compile(r"2号门 摄像机.*1号门 cam"))  # in the order chosen

    plan.get_by_role("link", name="修改").click()
    expect(page.locator(f"#cam-{CAM2} textarea")).to_have_value("大门关闭\n无人逗留")
    page.fill("input[name=name]", "夜间巡查（两台）")
    page.fill("input[name=window_start]", "21:00")
    page.uncheck(f"#cam-{CAM2} input[type=checkbox]")
    page.click("#plan-form button")
    expect(page.locator("[role=status]")).to_contain_text("已保存巡查计划“夜间巡查（两台）”")
    expect(plan).to_contain_text("21:00–06:00")
    expect(plan).not_to_contain_text("2号门 摄像机")

    plan.get_by_role("button", name="暂停").click()
    expect(page.locator("[role=status]")).to_contain_text("计划已暂停")
    expect(page.locator("article[id^=plan-]")).to_have_attribute("data-state", "paused")
