"""A secretary downloads the template, uploads a file with a bad row, sees why, fixes it and imports."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from jiayuan.registry import excel
from jiayuan.settings import Settings
from tests.browser.conftest import seed_secretary

PASSWORD = "secretary-pass-2"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROW = ["锦江花园", "1号楼", "1单元", "301", "刘莹", "女", "1990-03-07", "410181199003070022", "13912345678"]
ROW += ["户主", "户籍", "党员", "2015-06-01", "", ""]


@pytest.fixture(scope="module", autouse=True)
def community(live_settings: Settings) -> None:
    """One compound with one flat, and the secretary's account."""
    seed_secretary(live_settings, username="shuji2", password=PASSWORD)


def test_upload_shows_errors_then_imports(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/console/residents/import")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=username]", "shuji2")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/residents/import"))

    with page.expect_download() as template:
        page.click("#template-download")
    assert template.value.suggested_filename.endswith(".xlsx")

    bad = list(ROW)
    bad[7] = "410181199003070021"  # wrong check digit
    page.set_input_files(
        "input[name=file]", {"name": "居民.xlsx", "mimeType": XLSX, "buffer": excel.write_rows([bad])}
    )
    page.click("#import-check")
    errors = page.locator("#import-errors")
    expect(errors).to_contain_text("未写入任何数据")
    expect(errors.locator("tbody tr")).to_have_count(1)
    expect(errors.locator("tbody tr")).to_contain_text("身份证号校验位错误")
    with page.expect_download() as marked:
        page.click("#error-workbook")
    assert marked.value.suggested_filename.startswith("错误原因")

    page.set_input_files(
        "input[name=file]", {"name": "居民.xlsx", "mimeType": XLSX, "buffer": excel.write_rows([ROW])}
    )
    page.click("#import-check")
    expect(page.locator("#import-plan")).to_contain_text("将新增 1 人")
    expect(page.locator("#import-additions")).to_contain_text(str(ROW[4]))
    page.click("#import-run")
    expect(page.locator("#import-done")).to_contain_text("新增 1 人")
    changed = list(ROW)
    changed[8] = "139-0000-1111"
    page.set_input_files(
        "input[name=file]", {"name": "居民.xlsx", "mimeType": XLSX, "buffer": excel.write_rows([changed])}
    )
    page.click("#import-check")
    expect(page.locator("#import-changes")).to_contain_text("手机号：")
    expect(page.locator("#import-changes")).to_contain_text("→ 139****1111")
    page.click("#import-run")
    expect(page.locator("#import-done")).to_contain_text("更新 1 人")
