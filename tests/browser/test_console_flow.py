"""A secretary signs in, finds a resident by pinyin, reveals the ID number with a reason, sees it audited."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal
from jiayuan.registry.schemas import ResidentIn
from jiayuan.registry.service.residents import add_resident
from jiayuan.settings import Settings
from tests.browser.conftest import seed_secretary

ID_NUMBER = "410181199003070022"
PASSWORD = "secretary-pass-1"


@pytest.fixture(scope="module", autouse=True)
def community(live_settings: Settings) -> None:
    """One compound, one flat, one resident (刘莹) and the secretary's account."""
    household_id = seed_secretary(live_settings, username="shuji", password=PASSWORD)
    vault = PiiVault.from_secret(live_settings.pii_key.get_secret_value())
    engine = make_engine(live_settings.database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        add_resident(
            session,
            actor=Principal.system(),
            vault=vault,
            household_id=household_id,
            data=ResidentIn(
                name="刘莹",
                id_number=ID_NUMBER,
                gender="女",  # type: ignore[arg-type]
                birth_date=date(1990, 3, 7),
                phone="13912345678",
            ),
        )
    engine.dispose()


def test_sign_in_search_reveal_and_audit(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/console/residents")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=username]", "shuji")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    expect(page.locator("body")).to_contain_text("用户名或密码")

    page.fill("input[name=username]", "shuji")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/residents"))

    page.fill("#q", "liuying")
    row = page.locator("#resident-results tr", has_text="刘莹")
    expect(row).to_contain_text("4101**********0022")
    expect(page.locator("#resident-results")).not_to_contain_text(ID_NUMBER)

    row.locator("a", has_text="刘莹").click()
    page.click("text=查看完整信息")
    page.fill("input[name=reason]", "核对独居老人走访登记信息")
    page.click("text=确认查看")
    expect(page.locator("#reveal-result")).to_contain_text(ID_NUMBER)

    page.goto(f"{live_server}/console/audit")
    expect(page.locator("body")).to_contain_text("核对独居老人走访登记信息")
