"""居民 H5 in chromium at a phone's width: sign in with the code the outbox got, the e-pass QR renewing
itself (and saying so when the network is gone), 一键报警 with its confirm step, a report with a photo
listed under 我的; every page photographed at 360 px and 1920×1080 under the CSP."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal
from jiayuan.notify.models import OutboxMessage
from jiayuan.registry.service import residents
from jiayuan.settings import Settings
from tests.browser.conftest import seed_secretary
from tests.browser.test_csp import RECORD_VIOLATIONS, VIEWPORTS
from tests.factories import person

PHONE = "13812345678"


@pytest.fixture(scope="module")
def home(live_settings: Settings) -> int:
    """锦江花园 1号楼 1单元 301 with 刘莹 (PHONE) living there; the flat's id."""
    household_id = seed_secretary(live_settings, username="shuji", password="secretary-pass-1")
    engine = make_engine(live_settings.database_url)
    vault = PiiVault.from_secret(live_settings.pii_key.get_secret_value())
    with unit_of_work(make_sessionmaker(engine)) as session:
        residents.add_resident(
            session, actor=Principal.system(), vault=vault, household_id=household_id,
            data=person("刘莹", date(1980, 3, 1), 2, phone=PHONE),
        )  # fmt: skip
    engine.dispose()
    return household_id


def outbox_code(settings: Settings) -> str:
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as session:
        text = session.scalars(select(OutboxMessage.text).order_by(OutboxMessage.id.desc())).first()
    engine.dispose()
    found = re.search(r"验证码为 (\d{6})", text or "")
    assert found, text
    return found.group(1)


@pytest.fixture
def phone(browser: Browser) -> Page:
    """A phone-sized page that may share its position; CSP violations are recorded."""
    context = browser.new_context(
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 360, "height": 780},
        geolocation={"latitude": 34.7512, "longitude": 113.0231, "accuracy": 25},
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    yield page
    context.close()


def photograph(page: Page, shots: object, name: str) -> None:
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=f"{shots}/h5-{name}-{width}.png", full_page=width < 1000)
    page.set_viewport_size({"width": 360, "height": 780})
    assert page.evaluate("window.__csp") == [], name


def test_a_resident_signs_in_shows_the_pass_raises_an_alarm_and_reports(
    phone: Page,
    live_server: str,
    live_settings: Settings,
    home: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    shots = tmp_path_factory.getbasetemp() / "screenshots"
    shots.mkdir(exist_ok=True)
    page = phone
    page.clock.install()
    page.goto(f"{live_server}/h5")
    expect(page).to_have_url(re.compile(r"/h5/login$"))
    photograph(page, shots, "login")
    page.fill("#phone", PHONE)
    page.click("#send-code")
    expect(page.locator("#notice")).to_contain_text("验证码已发出")
    page.fill("#code", outbox_code(live_settings))
    page.click("#sign-in")
    expect(page).to_have_url(re.compile(r"/h5$"))

    # The e-pass shows, and renews itself before it expires without a reload.
    qr = page.locator("#pass-qr")
    expect(qr).to_be_visible()
    expect(qr).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
    expect(page.locator("#pass-status")).to_contain_text("自动更新")
    photograph(page, shots, "home")
    first = qr.get_attribute("src")
    page.evaluate("window.notReloaded = true")
    page.clock.fast_forward(60_000)
    expect(qr).not_to_have_attribute("src", first or "")
    assert page.evaluate("window.notReloaded") is True
    # Network lost: said in plain Chinese, and the pass comes back when the network does.
    page.context.set_offline(True)
    expect(page.locator("#h5-offline")).to_be_visible()
    page.clock.fast_forward(60_000)
    expect(page.locator("#pass-status")).to_contain_text("网络连接中断")
    page.context.set_offline(False)
    page.clock.fast_forward(10_000)
    expect(page.locator("#pass-status")).to_contain_text("自动更新")

    # 一键报警: one big button, then the confirm step.
    page.goto(f"{live_server}/h5/sos")
    photograph(page, shots, "sos")
    page.click("#sos-press")
    expect(page.locator("#sos-confirm")).to_be_visible()
    expect(page.locator("#sos-home")).to_have_text("锦江花园 1号楼 1单元 301")
    photograph(page, shots, "sos-confirm")
    page.context.set_offline(True)  # no network: said plainly, nothing sent, the button works again
    page.click("#sos-yes")
    expect(page.locator("#sos-status")).to_contain_text("网络连接中断，报警没有发出")
    expect(page.locator("#sos-yes")).to_be_enabled()
    page.context.set_offline(False)
    page.click("#sos-yes")
    expect(page).to_have_url(re.compile(r"/h5/cases/\d+$"))
    expect(page.locator("#case-headline")).to_contain_text("求助已收到")
    expect(page.locator("#case")).to_contain_text("北纬 34.75120")
    photograph(page, shots, "sos-case")
    page.context.set_offline(True)  # following the case while the network is gone
    page.clock.fast_forward(6_000)
    expect(page.locator("#case-live")).to_contain_text("网络连接中断")
    page.context.set_offline(False)
    page.clock.fast_forward(6_000)
    expect(page.locator("#case-live")).to_contain_text("已更新")

    # A report with a photo, then listed under 我的.
    page.goto(f"{live_server}/h5/report")
    page.select_option("#r-category", "repair")
    page.fill("#r-description", "5楼楼道灯不亮已经三天")
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(picture, "PNG")
    page.set_input_files(
        "#r-photo", files=[{"name": "灯.png", "mimeType": "image/png", "buffer": picture.getvalue()}]
    )
    expect(page.locator("[data-attach-list] li")).to_contain_text("已添加照片")
    photograph(page, shots, "report")
    page.click("#report button[type=submit]")
    expect(page).to_have_url(re.compile(r"/h5/cases/\d+$"))
    expect(page.locator("#case-headline")).to_contain_text("社区已收到")
    expect(page.locator("img.step-photo")).to_be_visible()
    page.goto(f"{live_server}/h5/cases")
    expect(page.locator("#case-list")).to_contain_text("5楼楼道灯不亮")
    expect(page.locator("#case-list")).to_contain_text("一键报警")
    photograph(page, shots, "cases")

    # A visitor pass to share as a link and a picture.
    page.goto(f"{live_server}/h5/visitors")
    page.fill("#v-name", "赵六")
    page.fill("#v-phone", "13600000001")
    page.click("#invite button[type=submit]")
    expect(page).to_have_url(re.compile(r"/h5/visitors/\d+$"))
    expect(page.locator("#visitor-qr")).to_be_visible()
    link = page.locator("#share-link").input_value()
    assert re.search(r"/h5/v/JY1\.", link)
    photograph(page, shots, "visitor")
    page.goto(f"{live_server}/h5/visitors")
    photograph(page, shots, "visitors")
    picture_url = page.evaluate("location.origin") + re.sub(r"^https?://[^/]+", "", link) + "/qr.png"
    shared = page.request.get(picture_url)
    assert shared.headers["content-type"] == "image/png"
    (shots / "h5-visitor-picture.png").write_bytes(shared.body())
    page.goto(link)
    expect(page.locator("#visitor-qr")).to_be_visible()
    photograph(page, shots, "visitor-public")
