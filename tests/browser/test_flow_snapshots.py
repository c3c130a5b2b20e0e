"""闸口通行: a plate read and its alarm link to the evidence picture the plate camera sent."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.devices.protocol import Topics
from jiayuan.devices.service import snapshots
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal
from jiayuan.settings import Settings
from tests.browser.test_flow_page import Gates, gates, push, sign_in
from tests.devices.snapshot_helpers import jpeg, snapshot_message

__all__ = ["gates"]  # the module's seeded gates, shared with the flow page tests


def test_the_feed_and_the_alarm_open_the_snapshot(
    page: Page, live_server: str, live_settings: Settings, gates: Gates
) -> None:
    picture = jpeg(66)
    engine = make_engine(live_settings.database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        message = snapshot_message("jiayuan", "jjhy-gate1-plate", "snap-d12345", picture, utcnow())
        snapshots.accept_snapshots(
            session,
            actor=Principal.system(),
            messages=[message],
            topics=Topics(live_settings.mqtt_topic_prefix),
            files=SnapshotFiles(live_settings.var_dir),
        )
    engine.dispose()
    sign_in(page, live_server)
    expect(page.locator("#flow-conn")).to_have_text("实时更新中")
    read = {"plate": "豫D12345", "color": "blue", "confidence": 0.95, "direction": "in"}
    read["snapshot"] = "snap-d12345"
    push(live_server, gates, "jjhy-gate1-plate", "plate_read", read)

    href = "/api/v1/devices/jjhy-gate1-plate/snapshots/snap-d12345.jpg"
    plate = page.locator("#flow-feed li[data-kind=plate]", has_text="豫D12345")
    expect(plate.locator("a", has_text="抓拍图")).to_have_attribute("href", href)
    expect(page.locator("#flow-alarms li", has_text="豫D12345").locator("a")).to_have_attribute("href", href)
    shown = page.request.get(f"{live_server}{href}")  # with the page's sign-in
    assert shown.status == 200 and shown.body() == picture
    page.reload()  # the day's feed as the page loads it names the picture too
    expect(plate.locator("a", has_text="抓拍图")).to_have_attribute("href", href)
