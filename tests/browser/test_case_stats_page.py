"""事件统计 in the browser: the chart per category is drawn by its own script under the Content-Security-
Policy, beside the tables, with the weekly report's download links."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from jiayuan.cases.schemas import CaseIn, Category
from jiayuan.cases.service import reporting
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.principal import Principal
from jiayuan.settings import Settings
from tests.browser.conftest import seed_secretary
from tests.browser.test_csp import RECORD_VIOLATIONS, _violations

PASSWORD = "secretary-pass-1"


@pytest.fixture(scope="module")
def reported(live_settings: Settings) -> None:
    household_id = seed_secretary(live_settings, username="shuji", password=PASSWORD)
    engine = make_engine(live_settings.database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        for category, title in (
            (Category.REPAIR, "楼道灯不亮"),
            (Category.REPAIR, "门禁坏了"),
            (Category.NOISE, "深夜装修"),
        ):
            data = CaseIn(category=category, title=title, household_id=household_id)
            reporting.report_case(session, actor=Principal.system(), data=data)
    engine.dispose()


def test_the_stats_page_draws_its_chart(page: Page, live_server: str, reported: None) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "shuji")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console"))
    page.goto(f"{live_server}/console/cases")
    page.click("#case-stats-link")
    expect(page.locator("#stats-summary")).to_contain_text("3")
    expect(page.locator("#stats-by-category")).to_contain_text("设施报修")
    expect(page.locator("#stats-chart canvas")).to_have_count(1)
    expect(page.locator("#stats-downloads a")).to_have_count(2)
    assert _violations(page, console) == []
