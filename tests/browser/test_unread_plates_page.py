"""待辨认车牌 in the browser: a vehicle whose plate the camera could not read is counted on 闸口通行, read by
the secretary from the list (a wrong entry is refused naming the field), and then shows in the live feed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_flow_page import Gates, gates, push, sign_in

__all__ = ["gates"]  # the flow page's site and secretary, reused here


def test_an_unreadable_plate_is_read_from_the_list(
    page: Page, live_server: str, gates: Gates, tmp_path_factory: pytest.TempPathFactory
) -> None:
    payload = {"snapshot": "car-1", "text": "欢迎光临", "confidence": 0.4, "direction": "in"}
    push(live_server, gates, "jjhy-gate1-plate", "plate_unreadable", payload)
    sign_in(page, live_server)
    expect(page.locator("#unread-plates")).to_have_text("1")
    page.click("a[href='/console/flow/unread-plates']")
    expect(page).to_have_url(re.compile(r"/console/flow/unread-plates$"))
    entry = page.locator("article", has_text="欢迎光临")
    expect(entry).to_contain_text("1号门")
    expect(entry.locator("select[name=direction]")).to_have_value("in")
    page.screenshot(path=tmp_path_factory.getbasetemp() / "unread-plates.png", full_page=True)

    entry.locator("input[name=plate]").fill("欢迎光临")
    entry.get_by_role("button", name="记录车牌").click()
    expect(page.locator("[role=alert]")).to_contain_text("车牌号码不符合车牌格式")
    expect(page.locator("input[name=plate]")).to_have_value("欢迎光临")

    page.locator("input[name=plate]").fill("豫B66666")
    page.get_by_role("button", name="记录车牌").click()
    expect(page.locator(".notice")).to_contain_text("已记录 豫B66666（1号门 进）")
    expect(page.locator("main")).to_contain_text("没有待辨认的车牌。")

    page.goto(f"{live_server}/console/flow")
    expect(page.locator("#unread-plates")).to_have_text("0")
    expect(page.locator("#flow-feed li[data-kind=plate]", has_text="豫B66666")).to_contain_text("外来")
