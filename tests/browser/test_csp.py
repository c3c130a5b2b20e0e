"""Every console page works under the Content-Security-Policy: no violation is reported while it loads,
while its scripts run, or while the flow chart shows its tooltip."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_flow_page import PASSWORD, Gates, gates

__all__ = ["gates"]  # the flow page's site and secretary, reused here

PAGES = [
    "/console",
    "/console/residents",
    "/console/residents/import",
    "/console/visitors",
    "/console/audit",
    "/console/users",
    "/console/devices",
    "/console/cameras",
    "/console/flow",
    "/console/flow/unread-plates",
    "/console/cases",
    "/console/cases/stats",
    "/console/patrol",
    "/console/duty",
    "/console/messages",
    "/screen",
    "/m",
]
# Every page is photographed at a phone's width and at the office TV's, for a reviewer to look at.
VIEWPORTS = ((360, 780), (1920, 1080))
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _violations(page: Page, console: list[str]) -> list[str]:
    reported: list[str] = page.evaluate("window.__csp")
    return reported + [m for m in console if "Content Security Policy" in m]


# The pages are visited in three parts, so that pytest-xdist spreads them over its workers.
PARTS = 3


@pytest.mark.parametrize("part", range(PARTS), ids=lambda part: f"{part + 1}/{PARTS}")
def test_every_page_runs_under_the_policy(
    page: Page, live_server: str, gates: Gates, tmp_path_factory: pytest.TempPathFactory, part: int
) -> None:
    shots = tmp_path_factory.getbasetemp() / "screenshots"
    shots.mkdir(exist_ok=True)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(f"{live_server}/login")
    assert _violations(page, console) == []
    page.fill("input[name=username]", "shuji")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console"))
    for path in PAGES[part::PARTS]:
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")
        if path == "/m":  # the phone page loads no library: its own script connected its stream
            expect(page.locator("#m-net")).to_have_attribute("data-state", "online")
        else:
            library = "echarts" if path == "/screen" else "htmx"  # the big screen is no htmx page
            assert page.evaluate(f"typeof {library}") == "object", path  # the scripts loaded
        assert _violations(page, console) == [], path
        for width, height in VIEWPORTS:
            page.set_viewport_size({"width": width, "height": height})
            name = path.strip("/").replace("/", "-") or "home"
            page.screenshot(path=shots / f"{name}-{width}.png", full_page=width < 1000)
        page.set_viewport_size({"width": 1280, "height": 800})
    if part == 0:
        flow_chart_and_search(page, live_server, console)


def flow_chart_and_search(page: Page, live_server: str, console: list[str]) -> None:
    # The flow page's own script drew the chart and connected its stream; hovering shows the tooltip.
    page.goto(f"{live_server}/console/flow")
    expect(page.locator("#flow-conn")).to_have_attribute("data-state", "live")
    box = page.locator("#flow-chart").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(300)
    assert _violations(page, console) == []
    # An htmx request (the residents search) still swaps its results in.
    page.goto(f"{live_server}/console/residents")
    page.fill("#q", "张")
    page.wait_for_load_state("networkidle")
    assert _violations(page, console) == []


def test_the_headers_reach_the_browser(live_server: str) -> None:
    response = httpx.get(f"{live_server}/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
