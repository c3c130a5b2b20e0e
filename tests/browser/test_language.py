"""The 中文/EN switch: each face renders its chrome in English after the switch, and in Chinese again after
switching back; the choice lives in a cookie, so it follows the user from page to page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from jiayuan.settings import Settings
from tests.browser.faces import FACES, seed_demo_into, sign_in

# A page of each face and a text of its chrome in (Chinese, English).
CHROME = {
    "console": ("/console", "退出", "Sign out"),
    "big screen": ("/screen", "门岗画面", "Gate cameras"),
    "grid worker phone": ("/m", "巡查", "Patrol"),
    "resident H5": ("/h5", "我的通行码", "My pass"),
}


@pytest.fixture(scope="module")
def demo(live_settings: Settings) -> None:
    seed_demo_into(live_settings)


def test_every_face_switches_to_english_and_back(
    page: Page, live_server: str, demo: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shots = tmp_path_factory.getbasetemp() / "screenshots"  # for a reviewer to read the English pages
    shots.mkdir(exist_ok=True)
    page.goto(f"{live_server}/login")
    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    for face in FACES:
        if face.name not in CHROME:
            continue
        path, chinese, english = CHROME[face.name]
        sign_in(page, live_server, face)  # clears the cookies: Chinese again
        page.goto(f"{live_server}{path}")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.get_by_text(chinese, exact=True).first).to_be_visible()
        page.get_by_role("link", name="EN", exact=True).click()
        expect(page).to_have_url(f"{live_server}{path}")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_text(english, exact=True).first).to_be_visible()
        assert page.get_by_text(chinese, exact=True).count() == 0, face.name
        page.screenshot(path=shots / f"{path.strip('/')}-en.png", full_page=True)
        page.get_by_role("link", name="中文", exact=True).click()
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.get_by_text(chinese, exact=True).first).to_be_visible()


def test_the_switch_goes_back_only_to_this_site(page: Page, live_server: str) -> None:
    page.route(
        "http://elsewhere.example/",
        lambda route: route.fulfill(
            body=f'<a href="{live_server}/lang?to=en">EN</a>', content_type="text/html"
        ),
    )
    page.goto("http://elsewhere.example/")
    with page.expect_request(re.compile(r"/lang\?to=en")) as sent:
        page.click("a")
    assert sent.value.headers.get("referer", "").startswith("http://elsewhere.example")
    expect(page).to_have_url(re.compile("^" + re.escape(live_server)))
