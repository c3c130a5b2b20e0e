"""实时画面: a camera page is never a blank page. A plate camera sends no live frames, so its page shows
its newest evidence picture with the time it was taken; a camera with nothing at all says so."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.devices.protocol import Topics
from jiayuan.devices.service import snapshots
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal
from jiayuan.settings import Settings
from tests.browser.conftest import seed_gate_cameras, seed_secretary
from tests.devices.snapshot_helpers import jpeg, snapshot_message

PASSWORD = "secretary-pass-1"


def test_a_camera_without_live_frames_shows_its_newest_picture_or_says_why(
    page: Page, live_server: str, live_settings: Settings
) -> None:
    seed_secretary(live_settings, username="shuji", password=PASSWORD)
    seed_gate_cameras(
        live_settings,
        ("jjhy-gate1-platecam", "plate_camera", "车牌识别相机"),
        ("jjhy-gate1-cam360", "camera_360", "360°全景相机"),
    )
    engine = make_engine(live_settings.database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        snapshots.accept_snapshots(
            session,
            actor=Principal.system(),
            messages=[snapshot_message("jiayuan", "jjhy-gate1-platecam", "snap-1", jpeg(70), utcnow())],
            topics=Topics(live_settings.mqtt_topic_prefix),
            files=SnapshotFiles(live_settings.var_dir),
        )
    engine.dispose()
    page.goto(f"{live_server}/console/cameras/jjhy-gate1-platecam")
    page.fill("input[name=username]", "shuji")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/cameras/jjhy-gate1-platecam$"))
    status = page.locator("#live-status")
    expect(status).to_contain_text("显示最近一张抓拍（北京时间 ", timeout=15000)
    page.wait_for_function("document.getElementById('live-view').naturalWidth > 0")

    page.goto(f"{live_server}/console/cameras/jjhy-gate1-cam360")
    expect(status).to_be_visible(timeout=15000)
    assert "暂无" in status.inner_text() or "没有实时画面" in status.inner_text()
