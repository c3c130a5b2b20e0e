"""大屏: the office TV signs in once with a read-only screen account and keeps going on its own.

Devices push events over HTTP as they would in the field; the screen follows them live, and after a
dropped connection it shows exactly what a freshly loaded screen shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from jiayuan.access.schemas import WatchPlateIn
from jiayuan.access.service import vehicles
from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service.tokens import issue_api_token
from jiayuan.accounts.service.users import create_user
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal, Role
from jiayuan.settings import Settings
from tests.browser.conftest import add_gate_one, seed_secretary
from tests.devices.helpers import envelope

SCREEN_PASSWORD = "screen-pass-2026"
SYSTEM = Principal.system()
# What a person reads off the screen: the panels whose text must match a fresh render.
PANELS = ("#s-gates", "#s-alarms", "#s-alarm-count", "#s-case-counts", "#s-cases", "#s-plan")


@dataclass(frozen=True)
class Site:
    """The plate camera's token."""

    plate_token: str


@pytest.fixture(scope="module")
def site(live_settings: Settings) -> Site:
    """锦江花园 1号门 with a plate camera, a watched plate, and the office's screen account."""
    seed_secretary(live_settings, username="shuji", password="secretary-pass-1")
    engine = make_engine(live_settings.database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        gate = add_gate_one(session, ("jjhy-gate1-plate", "plate", "1号门 车牌识别"))
        session.flush()
        vehicles.add_watch_plate(
            session,
            actor=SYSTEM,
            data=WatchPlateIn(community_id=gate.compound.community_id, plate="豫D12345", reason="协查通报"),
        )
        create_user(
            session,
            actor=SYSTEM,
            username="daping",
            display_name="办公室大屏",
            role=Role.SCREEN,
            password=SCREEN_PASSWORD,
            scopes=[(ScopeKind.COMMUNITY, gate.compound.community_id)],
        )
        token = issue_api_token(session, actor=SYSTEM, name="plate", device_id="jjhy-gate1-plate")
    engine.dispose()
    return Site(token)


def read_plate(live_server: str, site: Site, plate: str) -> None:
    payload = {"plate": plate, "color": "blue", "confidence": 0.95, "direction": "in"}
    response = httpx.post(
        f"{live_server}/api/v1/devices/jjhy-gate1-plate/events",
        content=envelope("jjhy-gate1-plate", "plate_read", payload, ts=utcnow()),
        headers={"Authorization": f"Bearer {site.plate_token}"},
    )
    assert response.status_code == 202, response.text


def sign_in(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/screen")
    page.fill("input[name=username]", "daping")
    page.fill("input[name=password]", SCREEN_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/screen$"))
    expect(page.locator("#s-conn")).to_have_text("实时更新中")


def panels(page: Page) -> dict[str, str]:
    return {selector: page.locator(selector).text_content() or "" for selector in PANELS}


def outside_in(page: Page) -> str:
    return page.locator("#s-gates tr[data-gate] td").nth(4).inner_text()


def test_the_screen_follows_the_gates_live(page: Page, live_server: str, site: Site) -> None:
    sign_in(page, live_server)
    expect(page.locator("#s-community")).to_have_text("紫荆路社区")
    expect(page.locator("#s-plan [data-compound]")).to_have_count(1)
    expect(page.locator("#s-gates tr[data-gate]")).to_contain_text("1号门")
    before = int(outside_in(page).split(" / ")[0])
    page.evaluate("window.notReloaded = true")

    read_plate(live_server, site, "豫E10001")
    expect(page.locator("#s-gates tr[data-gate] td").nth(4)).to_have_text(re.compile(rf"^{before + 1} / "))
    read_plate(live_server, site, "豫D12345")  # on the watch list: an alarm, and its case
    expect(page.locator("#s-alarms li")).to_contain_text("布控车辆")
    expect(page.locator("#s-flash")).to_be_visible()
    expect(page.locator("#s-plan .gate.alarmed")).to_have_count(1)
    expect(page.locator("#s-cases li")).to_contain_text("布控车辆")
    expect(page.locator("#s-case-counts li").first).to_contain_text("上报")
    assert page.evaluate("window.notReloaded") is True
    assert "申报" not in page.content() and "reporter" not in page.content()


def test_after_a_dropped_connection_the_screen_equals_a_fresh_render(
    page: Page, live_server: str, site: Site
) -> None:
    sockets: list[WebSocketRoute] = []

    def through(route: WebSocketRoute) -> None:
        route.connect_to_server()
        sockets.append(route)

    page.route_web_socket(re.compile(r"/ws/v1/screen"), through)
    sign_in(page, live_server)
    sockets[0].close(code=1012, reason="restart")
    expect(page.locator("#s-conn")).to_contain_text("连接中断")
    read_plate(live_server, site, "豫E20002")  # while the screen is away
    read_plate(live_server, site, "豫D12345")
    expect(page.locator("#s-conn")).to_have_text("实时更新中", timeout=10000)
    expect(page.locator("#s-alarms li").first).to_contain_text("布控车辆")

    fresh = page.context.new_page()
    fresh.goto(f"{live_server}/screen")
    expect(fresh.locator("#s-conn")).to_have_text("实时更新中")
    expect(fresh.locator("#s-gates tr[data-gate]")).to_have_count(1)
    page.wait_for_timeout(2000)  # the case change settles (the screen reloads its state after it)
    fresh.wait_for_timeout(2000)
    assert panels(page) == panels(fresh)
