"""The grid worker's phone (/m) at 360 px: a demo-like grid worker (scoped to one grid) sees only their
cases and their grid's residents (masked), takes a case on and goes on site, keeps working offline with
the action landing exactly once when the network is back, and is rung when a case is handed to them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Route, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service.users import create_user
from jiayuan.cases.models import Case, CaseAttachment, CaseStep
from jiayuan.cases.schemas import ActionIn, CaseIn, Category
from jiayuan.cases.service import reporting, workflow
from jiayuan.cases.states import CaseAction, CaseState
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import Building, Household, Unit
from jiayuan.registry.schemas import ResidentIn
from jiayuan.registry.service.residents import add_resident
from jiayuan.settings import Settings
from tests.browser.conftest import seed_secretary
from tests.factories import add_grid, make_id

PASSWORD = "grid-pass-2026"
SYSTEM = Principal.system()
PHONE = {"width": 360, "height": 780}
ID_NUMBER = "410181199003070022"


@dataclass(frozen=True)
class Site:
    """Who and what the phone tests use."""

    sessions: sessionmaker[Session]
    staff: Principal
    worker_id: int
    other_worker_id: int
    h301: int
    h201: int


@pytest.fixture(scope="module")
def site(live_settings: Settings) -> Iterator[Site]:
    """锦江花园: 1号楼 (第一网格, 王伟's) with 刘莹 in 301, 2号楼 (第二网格, 李娜's) with 王芳 in 201."""
    h301 = seed_secretary(live_settings, username="shuji", password="secretary-pass-1")
    vault = PiiVault.from_secret(live_settings.pii_key.get_secret_value())
    engine = make_engine(live_settings.database_url)
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as session:
        first = session.get_one(Household, h301)
        building = first.unit.building
        community_id = building.compound.community_id
        other = Building(compound_id=building.compound_id, name="2号楼")
        h201 = Household(unit=Unit(building=other, name="1单元"), room="201")
        session.add(h201)
        grids = [
            add_grid(session, community_id, "第一网格", [building]),
            add_grid(session, community_id, "第二网格", [other]),
        ]
        for household_id, name, id_number, phone in (
            (h301, "刘莹", ID_NUMBER, "13912345678"),
            (h201.id, "王芳", make_id(date(1985, 5, 6), 4), "13800001111"),
        ):
            born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
            data = ResidentIn(name=name, id_number=id_number, gender="女", birth_date=born, phone=phone)  # type: ignore[arg-type]
            add_resident(session, actor=SYSTEM, vault=vault, household_id=household_id, data=data)
        users = {}
        for username, role, scope in (
            ("wangwei", Role.GRID, (ScopeKind.GRID, grids[0].id)),
            ("lina", Role.GRID, (ScopeKind.GRID, grids[1].id)),
            ("zhoumin", Role.STAFF, (ScopeKind.COMMUNITY, community_id)),
        ):
            made = create_user(
                session, actor=SYSTEM, username=username, display_name=username, role=role,
                password=PASSWORD, scopes=[scope],
            )  # fmt: skip
            users[username] = made.id
        staff = Principal(
            role=Role.STAFF,
            user_id=users["zhoumin"],
            username="zhoumin",
            community_ids=frozenset({community_id}),
        )
        found = Site(
            sessions=sessions, staff=staff, worker_id=users["wangwei"], other_worker_id=users["lina"],
            h301=h301, h201=h201.id,
        )  # fmt: skip
    open_case(found, "楼道灯不亮", found.h301, found.worker_id, roster_only=True)
    open_case(found, "单元门禁坏了", found.h301, found.worker_id)
    open_case(found, "二号楼漏水", found.h201, found.other_worker_id)
    yield found
    engine.dispose()


def open_case(site: Site, title: str, household_id: int, worker_id: int, *, roster_only: bool = False) -> int:
    """A report handed to a worker: by the roster only (still 上报), or accepted and dispatched by staff."""
    with unit_of_work(site.sessions) as session:
        data = CaseIn(category=Category.REPAIR, title=title, household_id=household_id)
        case_id = reporting.report_case(session, actor=site.staff, data=data).id
        if roster_only:
            session.get_one(Case, case_id).assignee_user_id = worker_id
            return case_id
        workflow.act(session, actor=site.staff, case_id=case_id, data=ActionIn(action=CaseAction.ACCEPT))
        dispatch = ActionIn(action=CaseAction.DISPATCH, assignee_user_id=worker_id)
        workflow.act(session, actor=site.staff, case_id=case_id, data=dispatch)
        return case_id


def open_cases_of(site: Site, household_id: int) -> int:
    """How many cases of the household are open (the module's tests open more as they go)."""
    with unit_of_work(site.sessions) as session:
        found = (
            select(func.count())
            .select_from(Case)
            .where(Case.household_id == household_id, Case.state != CaseState.CLOSED.value)
        )
        return session.scalars(found).one()


def photos_of(site: Site, title: str) -> list[tuple[str, int]]:
    """Each step of the case with a photo, and how many."""
    with unit_of_work(site.sessions) as session:
        rows = session.execute(
            select(CaseStep.action, func.count(CaseAttachment.id))
            .join(CaseAttachment, CaseAttachment.step_id == CaseStep.id)
            .join(Case, Case.id == CaseStep.case_id)
            .where(Case.title == title)
            .group_by(CaseStep.action)
        ).all()
        return [(action, count) for action, count in rows]


def steps_of(site: Site, title: str) -> list[str]:
    with unit_of_work(site.sessions) as session:
        case_id = session.scalars(select(Case.id).where(Case.title == title)).one()
        return list(
            session.scalars(select(CaseStep.action).where(CaseStep.case_id == case_id).order_by(CaseStep.id))
        )


def sign_in(page: Page, live_server: str) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/m")
    page.fill("input[name=username]", "wangwei")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/m$"))
    expect(page.locator("#m-net")).to_have_text("在线 · 新事件会即时提醒")


def card(page: Page, title: str):  # type: ignore[no-untyped-def]
    return page.locator("#m-cases li", has_text=title)


def shoot(page: Page, shots: Path, name: str) -> None:
    for width, height in ((360, 780), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=shots / f"phone-{name}-{width}.png", full_page=width < 1000)
    page.set_viewport_size(PHONE)


@pytest.fixture
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    found = tmp_path_factory.getbasetemp() / "screenshots"
    found.mkdir(exist_ok=True)
    return found


def test_the_worker_sees_their_cases_and_grid_takes_one_on_and_goes_on_site(
    page: Page, live_server: str, site: Site, shots: Path
) -> None:
    sign_in(page, live_server)
    # Every open case of the worker's grid (2 when this test runs first in its module), no other.
    expect(page.locator("#m-cases li")).to_have_count(open_cases_of(site, site.h301))
    expect(page.locator("#m-cases")).not_to_contain_text("二号楼漏水")
    shoot(page, shots, "cases")

    card(page, "楼道灯不亮").locator("button", has_text="受理").click()
    expect(card(page, "楼道灯不亮").locator(".tag.state")).to_have_text("派遣")
    card(page, "楼道灯不亮").locator("button", has_text="到场").click()
    expect(page.locator("#m-act")).to_be_visible()
    expect(page.locator("#m-act-photo")).to_have_attribute("capture", "environment")
    page.click("#m-act-send")
    expect(card(page, "楼道灯不亮").locator(".tag.state")).to_have_text("到场")
    card(page, "楼道灯不亮").locator("button", has_text="处置").click()
    page.click("#m-act-send")
    expect(page.locator("#m-act-error")).to_have_text("请写明处置情况")
    page.fill("#m-act-note", "已更换灯泡")
    page.click("#m-act-send")
    expect(card(page, "楼道灯不亮").locator(".tag.state")).to_have_text("处置")
    assert steps_of(site, "楼道灯不亮") == ["report", "accept", "dispatch", "arrive", "handle"]

    page.click("a[data-tab=residents]")
    page.fill("#m-q", "")
    page.click("#m-search button")
    expect(page.locator("#m-residents li")).to_have_count(1)
    expect(page.locator("#m-residents")).to_contain_text(re.compile(r"刘莹 女 \d+岁"))
    expect(page.locator("#m-residents")).to_contain_text("4101**********0022")
    expect(page.locator("#m-residents")).not_to_contain_text(ID_NUMBER)
    expect(page.locator("#m-residents")).not_to_contain_text("13912345678")
    page.fill("#m-q", "liuying")
    page.click("#m-search button")
    expect(page.locator("#m-residents li")).to_have_count(1)
    shoot(page, shots, "residents")
    page.fill("#m-q", "wangfang")
    page.click("#m-search button")
    expect(page.locator("#m-res-total")).to_have_text("没有找到")
    for tab in ("duty", "patrol"):
        page.click(f"a[data-tab={tab}]")
        expect(page.locator(f"#{tab}")).to_be_visible()
        shoot(page, shots, tab)


def test_an_action_taken_offline_lands_once_when_the_network_is_back(
    browser: Browser, live_server: str, site: Site, shots: Path, tmp_path: Path
) -> None:
    photo = tmp_path / "scene.jpg"
    Image.new("RGB", (1600, 1200), "orange").save(photo, format="JPEG")
    open_case(site, "车库照明故障", site.h301, site.worker_id)
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    try:
        sign_in(page, live_server)
        expect(page.locator("body")).to_have_attribute("data-worker", "registered")
        scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
        assert scope == f"{live_server}/m"
        manifest = page.evaluate("fetch('/m/manifest.webmanifest').then((r) => r.json())")
        assert manifest["display"] == "standalone" and manifest["start_url"] == "/m"
        page.reload()  # now the worker controls the page and has kept it
        expect(page.locator("#m-net")).to_have_text("在线 · 新事件会即时提醒")
        assert page.evaluate("navigator.serviceWorker.controller !== null")

        context.set_offline(True)
        expect(page.locator("#m-net")).to_have_attribute("data-state", "offline")
        expect(page.locator("#m-net")).to_contain_text("已离线")
        card(page, "车库照明故障").locator("button", has_text="到场").click()
        page.fill("#m-act-note", "已到车库")
        page.set_input_files("#m-act-photo", photo)
        page.click("#m-act-send")
        expect(page.locator("#m-queue")).to_be_visible()
        expect(page.locator("#m-queue-list li")).to_have_text("到场：车库照明故障（已到车库） · 附照片")
        expect(card(page, "车库照明故障").locator(".tag.pending")).to_have_text("待发送：到场")
        assert steps_of(site, "车库照明故障") == ["report", "accept", "dispatch"]
        page.reload()  # offline: the service worker serves the kept page, the queue is still there
        expect(page.locator("#m-queue-list li")).to_have_text("到场：车库照明故障（已到车库） · 附照片")
        expect(page.locator("#m-net")).to_contain_text("网络恢复后自动发送（1 项）")
        shoot(page, shots, "offline")
        assert steps_of(site, "车库照明故障") == ["report", "accept", "dispatch"]

        context.set_offline(False)
        expect(page.locator("#m-queue")).to_be_hidden()
        expect(card(page, "车库照明故障").locator(".tag.state")).to_have_text("到场")
        page.reload()
        expect(card(page, "车库照明故障").locator(".tag.state")).to_have_text("到场")
        assert steps_of(site, "车库照明故障") == ["report", "accept", "dispatch", "arrive"]
        assert photos_of(site, "车库照明故障") == [("arrive", 1)]
        assert page.evaluate("caches.keys()") == ["jiayuan-m-v1"]
        page.click("#m-logout")  # signing out forgets the page kept for offline use
        expect(page).to_have_url(re.compile(r"/login"))
        deadline = time.monotonic() + 10  # the page clears its cache as it leaves: give it the moment
        while page.evaluate("caches.keys()") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert page.evaluate("caches.keys()") == []
    finally:
        context.close()


def test_an_action_whose_answer_was_lost_is_resent_and_taken_once(
    browser: Browser, live_server: str, site: Site
) -> None:
    open_case(site, "消防通道堵塞", site.h301, site.worker_id)
    # Without the service worker, so the page's own requests can be cut off here.
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", service_workers="block")
    page = context.new_page()
    sent: list[str] = []

    def lose_first_answer(route: Route) -> None:
        sent.append(route.request.post_data or "")
        if len(sent) == 1:
            route.fetch()  # the server takes the action, but its answer never reaches the phone
            route.abort("connectionreset")
        else:
            route.continue_()

    try:
        sign_in(page, live_server)
        page.route("**/api/v1/m/cases/*/actions", lose_first_answer)
        card(page, "消防通道堵塞").locator("button", has_text="到场").click()
        page.click("#m-act-send")
        expect(card(page, "消防通道堵塞").locator(".tag.state")).to_have_text("到场", timeout=15_000)
        expect(page.locator("#m-queue")).to_be_hidden()
        assert len(sent) == 2 and sent[0] == sent[1]  # the same request id, sent twice
        assert steps_of(site, "消防通道堵塞") == ["report", "accept", "dispatch", "arrive"]
    finally:
        context.close()


def test_a_case_handed_to_the_worker_rings_and_shows_a_banner(
    page: Page, live_server: str, site: Site, shots: Path
) -> None:
    sign_in(page, live_server)
    page.click("h1")  # a touch unlocks the sound, as on a phone
    open_case(site, "电梯困人", site.h301, site.worker_id)
    expect(page.locator("#m-banner")).to_be_visible()
    expect(page.locator("#m-banner-text")).to_contain_text("电梯困人")
    expect(card(page, "电梯困人")).to_have_class(re.compile("fresh"))
    assert page.evaluate("window.__alarms") == 1
    page.wait_for_function("window.__beeps >= 1")
    shoot(page, shots, "alarm")
    open_case(site, "三号楼垃圾堆积", site.h201, site.other_worker_id)  # 李娜's grid: not this phone's
    page.click("#m-banner-close")
    open_case(site, "路灯不亮", site.h301, site.worker_id)
    expect(page.locator("#m-banner-text")).to_contain_text("路灯不亮")
    assert page.evaluate("window.__alarms") == 2
    expect(page.locator("#m-cases")).not_to_contain_text("三号楼垃圾堆积")


def test_an_action_refused_for_a_lapsed_sign_in_waits_for_the_next_one(
    page: Page, live_server: str, site: Site
) -> None:
    open_case(site, "楼顶水箱漏水", site.h301, site.worker_id)
    sign_in(page, live_server)
    page.context.clear_cookies()  # the session ended (signed out elsewhere, or expired)
    card(page, "楼顶水箱漏水").locator("button", has_text="到场").click()
    page.click("#m-act-send")
    expect(page.locator("#m-banner-text")).to_contain_text("登录已失效")
    expect(page.locator("#m-queue-list li")).to_have_text("到场：楼顶水箱漏水")
    assert steps_of(site, "楼顶水箱漏水") == ["report", "accept", "dispatch"]
    sign_in(page, live_server)
    expect(page.locator("#m-queue")).to_be_hidden()
    expect(card(page, "楼顶水箱漏水").locator(".tag.state")).to_have_text("到场")
    assert steps_of(site, "楼顶水箱漏水") == ["report", "accept", "dispatch", "arrive"]


def test_a_case_arriving_on_an_english_page_reads_english(page: Page, live_server: str, site: Site) -> None:
    """The live push follows the page's language: its labels, the banner and the card's buttons."""
    sign_in(page, live_server)
    page.context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])
    page.reload()
    expect(page.locator("#m-net")).to_have_text("Online · new cases alert you at once")
    open_case(site, "消防通道被占", site.h301, site.worker_id)
    expect(page.locator("#m-banner-text")).to_have_text(re.compile(r"^New case: .*消防通道被占"))
    arrived = card(page, "消防通道被占")
    expect(arrived).to_contain_text("Reported by staff")
    expect(arrived.locator("button", has_text="On site")).to_be_visible()
    # The service worker has no words of its own: it keeps the page's, for when it has no page to show.
    kept = """async () => {
      const words = await (await caches.open("jiayuan-m-v1")).match("/m/offline-words");
      return words ? words.text() : null;
    }"""
    page.wait_for_function(f"({kept})()")
    assert page.evaluate(kept).startswith("Offline, and this page was never saved")


def test_a_live_update_leaves_the_focus_on_the_button_that_had_it(
    page: Page, live_server: str, site: Site
) -> None:
    """A keyboard user on a case's button keeps it when a new case redraws the list."""
    open_case(site, "消防栓漏水", site.h301, site.worker_id)
    sign_in(page, live_server)
    button = card(page, "消防栓漏水").locator("button", has_text="到场")
    button.focus()
    open_case(site, "楼梯扶手松动", site.h301, site.worker_id)
    expect(card(page, "楼梯扶手松动")).to_be_visible()
    expect(button).to_be_focused()
