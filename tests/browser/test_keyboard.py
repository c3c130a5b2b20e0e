"""The main actions of each face with the keyboard alone: Tab reaches them (with a visible focus) and Enter
uses them — signing in, the console's navigation, the big screen's language switch, the phone's case
action and resident search, the resident's report."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from jiayuan.settings import Settings
from tests.browser.faces import FACES, OPENS_DIALOG, seed_demo_into, sign_in

FACE = {face.name: face for face in FACES}


@pytest.fixture(scope="module")
def demo(live_settings: Settings) -> None:
    seed_demo_into(live_settings)


def tab_to(page: Page, selector: str, *, limit: int = 80) -> None:
    """Press Tab until the element matching `selector` has the focus; fail if it is never reached."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            outline = page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement);"
                " return s.outlineStyle !== 'none' || s.boxShadow !== 'none'; }"
            )
            assert outline, f"{selector} has no visible focus"
            return
    pytest.fail(f"Tab never reached {selector} on {page.url}")


def test_signing_in_and_the_console_with_the_keyboard(page: Page, live_server: str, demo: None) -> None:
    page.goto(f"{live_server}/login")
    page.locator("input[name=username]").focus()  # the form's autofocus
    page.keyboard.type("admin")
    tab_to(page, "input[name=password]")
    page.keyboard.type("admin-demo-2026")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/console")
    tab_to(page, "header a[href='/console/cases']")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/console/cases$"))
    expect(page.locator("h1")).to_be_visible()


def test_the_big_screen_switches_language_with_the_keyboard(page: Page, live_server: str, demo: None) -> None:
    sign_in(page, live_server, FACE["big screen"])
    page.set_viewport_size({"width": 1920, "height": 1080})
    tab_to(page, "a[hreflang=en]")
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_the_phone_acts_on_a_case_and_searches_residents_with_the_keyboard(
    page: Page, live_server: str, demo: None
) -> None:
    sign_in(page, live_server, FACE["grid worker phone"])
    page.set_viewport_size({"width": 360, "height": 780})
    case_id = page.locator(OPENS_DIALOG).first.get_attribute("data-case")
    before = page.locator(f"#case-{case_id}").inner_text()
    tab_to(page, f'{OPENS_DIALOG}[data-case="{case_id}"]')
    page.keyboard.press("Enter")
    expect(page.locator("#m-act")).to_have_attribute("open", "")
    page.keyboard.type("键盘操作")  # the dialog put the focus on its note
    tab_to(page, "#m-act-send")
    page.keyboard.press("Enter")
    expect(page.locator("#m-act")).not_to_have_attribute("open", "")
    page.wait_for_function(  # the case moved on: its card changed, or it left the list
        "([id, before]) => document.getElementById('case-' + id)?.innerText !== before", arg=[case_id, before]
    )
    tab_to(page, "a[data-tab=residents]")
    page.keyboard.press("Enter")
    expect(page.locator("#residents")).to_be_visible()
    tab_to(page, "#m-q")
    page.keyboard.type("wang")
    page.keyboard.press("Enter")
    expect(page.locator("#m-residents li").first).to_be_visible()


def test_the_resident_reports_a_problem_with_the_keyboard(page: Page, live_server: str, demo: None) -> None:
    sign_in(page, live_server, FACE["resident H5"])
    page.set_viewport_size({"width": 360, "height": 780})
    tab_to(page, "main a[href='/h5/report']")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/h5/report$"))
    tab_to(page, "#r-category")
    page.keyboard.press("ArrowDown")  # the first category
    tab_to(page, "#r-description")
    page.keyboard.type("键盘提交：楼道灯不亮")
    tab_to(page, "#report button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.get_by_text("键盘提交：楼道灯不亮").first).to_be_visible()
