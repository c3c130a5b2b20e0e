"""闸口通行: the secretary watches the gates; devices push events and the page follows without a reload."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import pytest
from playwright.sync_api import Page, WebSocketRoute, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from jiayuan.access.pass_tokens import signer_for
from jiayuan.access.schemas import VisitorInvite, WatchPlateIn
from jiayuan.access.service import passes, vehicles, visitors
from jiayuan.accounts.service.tokens import issue_api_token
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal
from jiayuan.registry.models import Vehicle
from jiayuan.registry.schemas import ResidentIn
from jiayuan.registry.service.residents import add_resident
from jiayuan.settings import Settings
from tests.browser.conftest import add_gate_one, seed_secretary
from tests.devices.helpers import envelope

PASSWORD = "secretary-pass-1"
SYSTEM = Principal.system()


@dataclass(frozen=True)
class Gates:
    """What the module seeded: the resident for passes and the device tokens."""

    person_id: int
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def gates(live_settings: Settings) -> Gates:
    """锦江花园 1号门 (plate camera, QR reader); a resident with a car, a visitor by car, a watched plate."""
    household_id = seed_secretary(live_settings, username="shuji", password=PASSWORD)
    vault = PiiVault.from_secret(live_settings.pii_key.get_secret_value())
    engine = make_engine(live_settings.database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        gate = add_gate_one(
            session,
            ("jjhy-gate1-plate", "plate", "1号门 车牌识别"),
            ("jjhy-gate1-qr", "qr", "1号门 扫码"),
        )
        person = add_resident(
            session,
            actor=SYSTEM,
            vault=vault,
            household_id=household_id,
            data=ResidentIn(
                name="刘莹",
                id_number="410181199003070022",
                gender="女",  # type: ignore[arg-type]
                birth_date=date(1990, 3, 7),
                phone="13912345678",
            ),
        )
        session.add(Vehicle(plate="豫A10345", color="blue", household_id=household_id, owner_id=person.id))
        session.flush()
        visitors.invite_visitor(
            session,
            actor=SYSTEM,
            vault=vault,
            invite=VisitorInvite(
                household_id=household_id,
                name="李四",
                phone="13800138000",
                plate="豫A77777",
                valid_from=utcnow() - timedelta(hours=1),
                valid_until=utcnow() + timedelta(hours=3),
            ),
        )
        vehicles.add_watch_plate(
            session,
            actor=SYSTEM,
            data=WatchPlateIn(community_id=gate.compound.community_id, plate="豫D12345", reason="协查通报"),
        )
        tokens = {
            device: issue_api_token(session, actor=SYSTEM, name=device, device_id=device)
            for device in ("jjhy-gate1-plate", "jjhy-gate1-qr")
        }
        person_id = person.id
    engine.dispose()
    return Gates(person_id, tokens)


def push(live_server: str, gates: Gates, device: str, type: str, payload: dict[str, object]) -> None:
    """Post one envelope as the device would over HTTP."""
    response = httpx.post(
        f"{live_server}/api/v1/devices/{device}/events",
        content=envelope(device, type, payload, ts=utcnow()),
        headers={"Authorization": f"Bearer {gates.tokens[device]}"},
    )
    assert response.status_code == 202, response.text


def read_plate(live_server: str, gates: Gates, plate: str, direction: str = "in") -> None:
    payload = {"plate": plate, "color": "blue", "confidence": 0.95, "direction": direction}
    push(live_server, gates, "jjhy-gate1-plate", "plate_read", payload)


def scan(live_server: str, gates: Gates, token: str) -> None:
    payload = {"token": token, "direction": "in", "local_decision": "ok", "local_reason": None}
    push(live_server, gates, "jjhy-gate1-qr", "qr_scan", payload)


def resident_pass(live_settings: Settings, person_id: int) -> str:
    """A fresh e-pass of the resident, as their phone would show it."""
    signer = signer_for(live_settings.pass_signing_key.get_secret_value(), live_settings.pass_key_id)
    engine = make_engine(live_settings.database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        token = passes.issue_resident_pass(session, actor=SYSTEM, signer=signer, person_id=person_id).token
    engine.dispose()
    return token


def sign_in(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/console/flow")
    page.fill("input[name=username]", "shuji")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/flow"))


CHART_SUM = """(i) => echarts.getInstanceByDom(document.getElementById('flow-chart'))
                   .getOption().series[i].data.reduce((a, b) => a + (b || 0), 0)"""


def chart_sum(page: Page, series: int, expected: int) -> int:
    """The sum of one chart series as ECharts holds it, once it is `expected` or after 5 s: the chart
    is redrawn on the animation frame after the counters change."""
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(f"(i) => ({CHART_SUM})(i) === {expected}", arg=series, timeout=5000)
    total: int = page.evaluate(CHART_SUM, series)
    return total


def test_feed_numbers_and_chart_follow_the_gates(
    page: Page, live_server: str, live_settings: Settings, gates: Gates
) -> None:
    sign_in(page, live_server)
    expect(page.locator("nav")).to_contain_text("闸口通行")
    expect(page.locator("#flow-conn")).to_have_text("实时更新中")
    expect(page.locator("#flow-feed-empty")).to_be_visible()
    page.evaluate("window.notReloaded = true")

    read_plate(live_server, gates, "豫B88888")
    read_plate(live_server, gates, "豫ａ·10345")
    read_plate(live_server, gates, "豫A77777")
    token = resident_pass(live_settings, gates.person_id)
    scan(live_server, gates, token)
    scan(live_server, gates, token)
    read_plate(live_server, gates, "豫D12345")

    feed = page.locator("#flow-feed")
    expect(feed.locator("li[data-kind=plate]", has_text="豫B88888")).to_contain_text("外来")
    expect(feed.locator("li[data-kind=plate]", has_text="豫A10345")).to_contain_text("业主")
    expect(feed.locator("li[data-kind=plate]", has_text="豫A77777")).to_contain_text("登记访客")
    expect(feed.locator("li[data-kind=pass]", has_text="通过")).to_contain_text("居民码")
    expect(feed.locator("li[data-kind=pass]", has_text="拒绝")).to_contain_text("通行码重复使用")
    expect(feed.locator("li[data-kind=alarm]")).to_contain_text("布控车辆")
    expect(page.locator("#flow-alarms")).to_contain_text("豫D12345")
    expect(page.locator("#flow-feed-empty")).to_be_hidden()
    expect(page.locator("#n-people_in")).to_have_text("1")
    expect(page.locator("#n-refused")).to_have_text("1")
    expect(page.locator("#n-outside_in")).to_have_text("2")
    expect(page.locator("#n-outside_present")).to_have_text("2")  # asked again after outside cars moved

    read_plate(live_server, gates, "豫B88888", direction="out")
    expect(page.locator("#n-outside_out")).to_have_text("1")
    expect(page.locator("#n-outside_present")).to_have_text("1")
    assert (chart_sum(page, 0, 1), chart_sum(page, 2, 2), chart_sum(page, 3, 1)) == (1, 2, 1)
    assert page.evaluate("window.notReloaded") is True


def test_a_dropped_connection_comes_back_and_catches_up(
    page: Page, live_server: str, live_settings: Settings, gates: Gates
) -> None:
    sockets: list[WebSocketRoute] = []

    def through(route: WebSocketRoute) -> None:
        route.connect_to_server()
        sockets.append(route)

    page.route_web_socket(re.compile(r"/ws/v1/access"), through)
    sign_in(page, live_server)
    expect(page.locator("#flow-conn")).to_have_text("实时更新中")
    before = int(page.locator("#n-outside_in").inner_text())
    page.evaluate("window.notReloaded = true")

    sockets[0].close(code=1012, reason="restart")
    expect(page.locator("#flow-conn")).to_contain_text("连接中断")
    read_plate(live_server, gates, "豫E55555")  # while the page is (most likely) not connected
    expect(page.locator("#flow-conn")).to_have_text("实时更新中")
    assert len(sockets) == 2
    expect(page.locator("#flow-feed li[data-kind=plate]", has_text="豫E55555")).to_contain_text("外来")
    expect(page.locator("#n-outside_in")).to_have_text(str(before + 1))
    read_plate(live_server, gates, "豫E66666")  # and the new connection carries on
    expect(page.locator("#flow-feed li[data-kind=plate]", has_text="豫E66666")).to_be_visible()
    expect(page.locator("#n-outside_in")).to_have_text(str(before + 2))
    assert page.evaluate("window.notReloaded") is True

    page.context.clear_cookies()  # the session ends: the page stops retrying and says why
    sockets[1].close(code=1012, reason="restart")
    expect(page.locator("#flow-conn")).to_have_text("登录已失效，请刷新页面重新登录")
    page.wait_for_timeout(1500)  # longer than the first retry delay: it does not try again
    assert len(sockets) == 3


def test_a_count_delivered_twice_is_counted_once(page: Page, live_server: str, gates: Gates) -> None:
    routes: list[WebSocketRoute] = []
    flows: list[str | bytes] = []

    def through(route: WebSocketRoute) -> None:
        server = route.connect_to_server()

        def relay(message: str | bytes) -> None:
            if "access.flow" in str(message):
                flows.append(message)
            route.send(message)

        server.on_message(relay)
        routes.append(route)

    page.route_web_socket(re.compile(r"/ws/v1/access"), through)
    sign_in(page, live_server)
    expect(page.locator("#flow-conn")).to_have_text("实时更新中")
    counted = page.locator("#n-outside_in")
    before = int(counted.inner_text())
    read_plate(live_server, gates, "豫F12345")
    expect(counted).to_have_text(str(before + 1))
    routes[0].send(flows[-1])  # the same change again, as a reload and the stream can both carry it
    read_plate(live_server, gates, "豫F12346")  # a new change, after it on the same socket
    expect(page.locator("#flow-feed li[data-kind=plate]", has_text="豫F12346")).to_be_visible()
    expect(counted).to_have_text(str(before + 2))
    assert chart_sum(page, 2, before + 2) == before + 2


def test_the_live_feed_reads_in_english_after_the_switch(page: Page, live_server: str, gates: Gates) -> None:
    page.context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])
    sign_in(page, live_server)
    expect(page.locator("h1")).not_to_contain_text("闸口通行")
    expect(page.locator("#flow-conn")).to_have_text("Live")  # written by flow.js through t()
    read_plate(live_server, gates, "豫B77777")
    plate = page.locator("#flow-feed li[data-kind=plate]", has_text="豫B77777")
    expect(plate).to_contain_text("Outsider")  # the gate's code, labelled in the page's language
    expect(plate).not_to_contain_text("外来")
