"""axe-core on every page of every face, signed in as the role that uses it, with the demo data: no serious
or critical violation. axe comes from npm (frontend/node_modules, a dev dependency) and is evaluated in the
page by the test only; the app never serves it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from jiayuan.settings import Settings
from tests.browser.faces import (
    FACES,
    OPENS_DIALOG,
    SIGNED_OUT_PAGES,
    Face,
    all_pages,
    seed_demo_into,
    sign_in,
)

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help}\\n      ` +
      v.nodes.slice(0, 8).map((n) => n.target.join(" ") + " — " + n.failureSummary.replace(/\\n/g, " "))
        .join("\\n      "));
}"""


@pytest.fixture(scope="module")
def demo(live_settings: Settings) -> None:
    seed_demo_into(live_settings)


def audit(page: Page, url: str) -> list[str]:
    """The serious and critical axe violations of the page at `url`, once it has settled."""
    page.goto(url)
    page.wait_for_load_state("networkidle")
    return run_axe(page, url)


def run_axe(page: Page, where: str) -> list[str]:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make assets` (npm ci in frontend/)")
    # Evaluated through the DevTools protocol: the page's CSP forbids inline scripts, and it should.
    page.evaluate(AXE.read_text())
    found: list[str] = page.evaluate(RUN_AXE)
    return [f"{where}\n    {v}" for v in found]


def phone_states(page: Page, live_server: str) -> list[str]:
    """The phone's parts drawn by its script: residents found, and a case's action dialog."""
    page.goto(f"{live_server}/m")
    page.click("a[data-tab=residents]")
    page.fill("#m-q", "wang")
    page.click("#m-search button")
    page.locator("#m-residents li").first.wait_for()
    problems = run_axe(page, "/m residents found")
    page.click("a[data-tab=cases]")
    page.locator(OPENS_DIALOG).first.click()
    page.locator("#m-act[open]").wait_for()
    return problems + run_axe(page, "/m action dialog")


# One case per face, and the console's many pages in three parts, so that pytest-xdist spreads the
# walk over its workers and no single case holds up the end of a run.
CONSOLE_PARTS = 3
WALKS = [(None, 0, 1)] + [
    (face, part, parts)
    for face in FACES
    for parts in [CONSOLE_PARTS if face.name == "console" else 1]
    for part in range(parts)
]


def _walk_id(walk: tuple[Face | None, int, int]) -> str:
    face, part, parts = walk
    name = face.name if face else "signed out"
    return name if parts == 1 else f"{name} {part + 1}/{parts}"


@pytest.mark.parametrize("walk", WALKS, ids=_walk_id)
def test_every_page_of_every_face_passes_axe(
    page: Page, live_server: str, demo: None, walk: tuple[Face | None, int, int]
) -> None:
    face, part, parts = walk
    page.set_viewport_size({"width": 1280, "height": 800})
    problems: list[str] = []
    if face is None:
        for path in SIGNED_OUT_PAGES:
            problems += audit(page, f"{live_server}{path}")
    else:
        sign_in(page, live_server, face)
        if face.name in {"grid worker phone", "resident H5"}:
            page.set_viewport_size({"width": 360, "height": 780})
        for path in all_pages(page, live_server, face)[part::parts]:
            problems += audit(page, f"{live_server}{path}")
        if face.name == "grid worker phone":
            problems += phone_states(page, live_server)
    assert not problems, "\n".join(problems)
