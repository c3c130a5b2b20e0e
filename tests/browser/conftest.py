"""Browser tests: the real app served by uvicorn in a thread, driven by Debian's chromium headless
shell (Blink without the browser window's code, as Playwright runs headless: the tests take 30 % less time).

They run on SQLite only: the pages are the same on both backends, which the API tests cover.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts import passwords
from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service.users import create_user
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import Compound, Gate
from jiayuan.settings import Settings
from tests.conftest import make_test_settings
from tests.databases import create_database
from tests.factories import add_gate, one_household

CHROMIUM = Path("/usr/bin/chromium-headless-shell")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def seed_secretary(settings: Settings, *, username: str, password: str) -> int:
    """锦江花园 1号楼 1单元 301 and a secretary (admin) of its community; returns the flat's id."""
    passwords.configure(time_cost=1, memory_kib=1024)
    engine = make_engine(settings.database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        household = one_household(session, room="301")
        community = household.unit.building.compound.community
        create_user(
            session,
            actor=Principal.system(),
            username=username,
            display_name="孙书记",
            role=Role.ADMIN,
            password=password,
            scopes=[(ScopeKind.COMMUNITY, community.id)],
        )
        household_id = household.id
    engine.dispose()
    return household_id


def add_gate_one(session: Session, *devices: tuple[str, str, str]) -> Gate:
    """锦江花园's 1号门 with the given devices, each (device id, kind, name)."""
    compound = session.scalars(select(Compound).where(Compound.code == "jjhy")).one()
    return add_gate(session, compound, "jjhy-gate1", "1号门", devices)


def seed_gate_cameras(settings: Settings, *cameras: tuple[str, str, str]) -> None:
    """锦江花园's 1号门 with the given cameras, committed."""
    engine = make_engine(settings.database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        add_gate_one(session, *cameras)
    engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless chromium for the whole run."""
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian's chromium headless shell is missing: run `make services` "
            "(apt-get install chromium-headless-shell)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def live_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings on a fresh migrated SQLite database for one test module."""
    directory = tmp_path_factory.mktemp("browser")
    return make_test_settings(create_database("sqlite", directory), directory)


@pytest.fixture(scope="module")
def live_server(live_settings: Settings) -> Iterator[str]:
    """The app listening on a free local port; yields its base URL."""
    from jiayuan.web.app import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(live_settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the app did not start within 15 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context and page per test (no shared cookies)."""
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    new_page = context.new_page()
    yield new_page
    context.close()
