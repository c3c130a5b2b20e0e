"""The demo community served to chromium, and every page of every face with the account that opens it.

Shared by the accessibility, keyboard and language tests: one demo database per module, copied from one
seeded once per test process.
"""

from __future__ import annotations

import atexit
import re
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from playwright.sync_api import Page, expect

from jiayuan.accounts import passwords
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.demo.seed import seed_demo
from jiayuan.kernel.crypto import PiiVault
from jiayuan.settings import Settings
from tests.databases import create_database


@dataclass(frozen=True)
class Face:
    """A face's pages, the demo account that opens them and the page it lands on."""

    name: str
    username: str
    password: str
    pages: tuple[str, ...]
    # Pages whose address holds an id: (list page, link pattern) → the first such link found on the list.
    details: tuple[tuple[str, str], ...] = ()


FACES = (
    Face(
        "console",
        "admin",
        "admin-demo-2026",
        (
            "/console",
            "/console/residents",
            "/console/residents/import",
            "/console/visitors",
            "/console/audit",
            "/console/users",
            "/console/devices",
            "/console/cameras",
            "/console/flow",
            "/console/cases",
            "/console/cases/stats",
            "/console/patrol",
            "/console/patrol/plans/new",
            "/console/duty",
            "/console/messages",
            "/console/password",
        ),
        (
            ("/console/residents?q=%E5%BC%A0", r"/console/residents/\d+$"),
            ("/console/residents?q=%E5%BC%A0", r"/console/households/\d+$"),
            ("/console/cases", r"/console/cases/\d+$"),
            ("/console/cameras", r"/console/cameras/[\w-]+$"),
            ("/console/patrol", r"/console/patrol/plans/\d+$"),
        ),
    ),
    Face("staff console", "staff", "staff-demo-2026", ("/console", "/console/cases", "/console/duty")),
    Face("big screen", "daping", "daping-demo-2026", ("/screen",)),
    Face("grid worker phone", "grid01", "grid01-demo-2026", ("/m",)),
    Face(
        "resident H5",
        "jumin",
        "jumin-demo-2026",
        ("/h5", "/h5/visitors", "/h5/sos", "/h5/report", "/h5/cases"),
        (("/h5/cases", r"/h5/cases/\d+$"),),
    ),
)
SIGNED_OUT_PAGES = ("/login", "/h5/login")
# The phone's case buttons that open the note-and-photo dialog (受理 is sent at once, without one); which case
# the list shows first depends on the time of day the demo was seeded.
OPENS_DIALOG = "#m-cases li button:is([data-verb=arrive], [data-verb=handle])"


@cache
def _seeded_demo(pii_key: str) -> Path:
    """A SQLite file holding the demo community (about 8,000 rows), seeded once per process: seeding takes
    seconds, copying it milliseconds."""
    directory = Path(tempfile.mkdtemp(prefix="jiayuan-demo-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    url = create_database("sqlite", directory)
    passwords.configure(time_cost=1, memory_kib=1024)
    engine = make_engine(url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        seed_demo(session, vault=PiiVault.from_secret(pii_key))
    engine.dispose()
    return directory / "jiayuan.db"


def seed_demo_into(settings: Settings) -> None:
    """The demo community in the module's SQLite database (copied page by page, so a server already
    serving that database sees it whole)."""
    template = _seeded_demo(settings.pii_key.get_secret_value())
    target = settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(template) as source, sqlite3.connect(target) as copy:
        source.backup(copy)


def sign_in(page: Page, live_server: str, face: Face) -> None:
    """Sign in on the password form and land on the face's first page."""
    page.context.clear_cookies()
    page.goto(f"{live_server}/login?next={face.pages[0]}")
    page.fill("input[name=username]", face.username)
    page.fill("input[name=password]", face.password)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(re.escape(face.pages[0]) + r"$"))


def all_pages(page: Page, live_server: str, face: Face) -> list[str]:
    """The face's pages plus one detail page per pattern (taken from the links of its list page)."""
    found = list(face.pages)
    for listing, pattern in face.details:
        page.goto(f"{live_server}{listing}")
        hrefs: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        match = next((h for h in hrefs if re.search(pattern, h.split("?")[0])), None)
        assert match, f"no link like {pattern} on {listing}"
        found.append(match)
    return found
