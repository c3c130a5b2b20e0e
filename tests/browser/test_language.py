"""The 中文/EN switch: each face renders its chrome in English after the switch, and in Chinese again after
switching back; the choice lives in a cookie, so it follows the user from page to page."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from playwright.sync_api import Page, expect

from jiayuan.settings import Settings
from jiayuan.web.templating import TEMPLATES_DIR, templates
from tests.browser.faces import FACES, all_pages, seed_demo_into, sign_in
from tests.web.test_translations import _JS_STRING, CJK, SCRIPTS

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


# The texts the big screen, the phone and the resident pages write themselves (their templates and
# scripts, marked for translation or not), without placeholders: on an English page none may be left
# in Chinese. Data (names, places,
# titles, alarm summaries) and the labels other domains define are not among them.
OWN_FACES = {"big screen": "screen", "grid worker phone": "phone", "resident H5": "h5"}
# Texts each face shows in English, one of them written by its script once it runs.
SHOWN = {
    "/screen": ("Open alarms", "Gate traffic today", "Gate cameras"),
    "/m": ("My cases", "Grid residents", "Online · new cases alert you at once"),
    "/h5": ("My pass", "Invite a visitor", "Valid until"),
    "/h5/visitors": ("Create visitor pass", "Day of visit"),
    "/h5/sos": ("Use this in danger", "If a life is in danger, also call 110 / 120 / 119."),
    "/h5/report": ("Category", "Submit"),
    "/h5/cases": ("My alarms and reports", "Report a problem"),
}
# Every text node and read-aloud attribute holding Chinese in the page's body.
CHINESE_IN_BODY = """(pattern) => {
  const cjk = new RegExp(pattern);
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    if (!walker.currentNode.parentElement.closest("script, style") && cjk.test(text)) found.push(text);
  }
  for (const node of document.body.querySelectorAll("[alt], [placeholder], [aria-label], [title]")) {
    for (const name of ["alt", "placeholder", "aria-label", "title"]) {
      const value = node.getAttribute(name);
      if (value && cjk.test(value)) found.push(value.trim());
    }
  }
  return found;
}"""


def _own_texts(folders: Iterable[str], scripts: Iterable[str]) -> set[str]:
    templates_of_face = sorted(p for folder in folders for p in (TEMPLATES_DIR / folder).glob("*.html"))
    source = "\n".join((SCRIPTS / f"{script}.js").read_text(encoding="utf-8") for script in scripts)
    found: set[str] = set()
    for path in templates_of_face:  # text between the tags, outside {{ }} (a forgotten _() shows up here)
        for _line, kind, value in templates.env.lex(path.read_text(encoding="utf-8")):
            if kind == "data":
                found |= {piece.strip() for piece in re.split(r"<[^>]*>", value) if CJK.search(piece)}
    found |= {m.group("literal")[1:-1].strip() for m in _JS_STRING.finditer(source)}  # in t() or not
    options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}
    for path in templates_of_face:  # and what the templates mark
        for message in extract_from_file("jinja2", path, keywords=DEFAULT_KEYWORDS, options=options):
            found.add((message[1] if isinstance(message[1], str) else message[1][0]).strip())
    return {text for text in found if CJK.search(text) and "%(" not in text and "{" not in text}


def test_the_screen_phone_and_resident_pages_leave_no_chinese_of_their_own(
    page: Page, live_server: str, demo: None
) -> None:
    for face in FACES:
        if face.name not in OWN_FACES:
            continue
        folder = OWN_FACES[face.name]
        own = _own_texts([folder], [folder])
        sign_in(page, live_server, face)
        pages = all_pages(page, live_server, face)
        page.context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])
        for path in pages:
            page.goto(f"{live_server}{path}")
            expect(page.locator("html")).to_have_attribute("lang", "en")
            for text in SHOWN.get(path, ()):
                expect(page.locator("body")).to_contain_text(text)
            if path == "/screen":
                expect(page.locator("#s-conn")).to_have_text("Live")  # written once the stream is open
            left = page.evaluate(CHINESE_IN_BODY, CJK.pattern)
            assert [t for t in left if t in own] == [], path


# The console's own templates (the pages' folders and the macros they use) and scripts.
CONSOLE_TEMPLATES = (
    "console",
    "registry",
    "access",
    "cases",
    "devices",
    "duty",
    "notify",
    "patrol",
    "vision",
    "macros",
)
CONSOLE_SCRIPTS = ("camera", "cameras", "case_stats", "flow")


# The console's pages are walked in three parts, so that pytest-xdist spreads them over its workers.
CONSOLE_PARTS = 3


@pytest.mark.parametrize("part", range(CONSOLE_PARTS), ids=lambda part: f"{part + 1}/{CONSOLE_PARTS}")
def test_every_console_page_leaves_no_chinese_of_its_own(
    page: Page, live_server: str, demo: None, tmp_path_factory: pytest.TempPathFactory, part: int
) -> None:
    """Every console page (lists and details) signed in as admin on the demo data: no text the console's
    templates or scripts write is left in Chinese on the English page."""
    shots = tmp_path_factory.getbasetemp() / "screenshots"
    shots.mkdir(exist_ok=True)
    own = _own_texts(CONSOLE_TEMPLATES, CONSOLE_SCRIPTS) - {"中文"}  # the switch names Chinese in Chinese
    console = next(face for face in FACES if face.name == "console")
    sign_in(page, live_server, console)
    pages = all_pages(page, live_server, console)[part::CONSOLE_PARTS]
    page.context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])
    left: dict[str, list[str]] = {}
    for path in pages:
        page.goto(f"{live_server}{path}")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        page.wait_for_timeout(500)  # the scripts write their texts
        name = re.sub(r"[^\w-]+", "-", path.strip("/").split("?")[0])
        page.screenshot(path=shots / f"{name}-en.png", full_page=True)
        found = sorted({t for t in page.evaluate(CHINESE_IN_BODY, CJK.pattern) if t in own})
        if found:
            left[path] = found
    assert left == {}
