"""实时画面: the camera wall shows a camera whose worker starts running degraded, without a reload (the
page stays open on the office's wall for hours)."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.devices.protocol import Topics
from jiayuan.devices.service.pipeline import Pipeline, RawMessage, accept_batch
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal
from jiayuan.settings import Settings
from tests.browser.conftest import seed_gate_cameras, seed_secretary

PASSWORD = "secretary-pass-1"


def test_the_camera_wall_shows_a_camera_going_degraded_without_a_reload(
    page: Page, live_server: str, live_settings: Settings
) -> None:
    seed_secretary(live_settings, username="shuji", password=PASSWORD)
    seed_gate_cameras(live_settings, ("jjhy-gate1-cam360", "camera_360", "360°全景相机"))
    page.goto(f"{live_server}/console/cameras")
    page.fill("input[name=username]", "shuji")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/cameras$"))
    badge = page.locator("article[data-camera='jjhy-gate1-cam360'] mark.degraded")
    expect(badge).to_be_hidden()
    topics = Topics(live_settings.mqtt_topic_prefix)
    text = "近 30 秒每秒只分析了 3.1 帧，设定 5 帧（62%）"
    body = {"v": 1, "state": "online", "ts": utcnow().isoformat(), "health": "degraded",
            "reasons": [{"code": "analysis_slow", "text": text}]}  # fmt: skip
    message = RawMessage("mqtt", topics.status("jjhy-gate1-cam360"), json.dumps(body).encode(), utcnow())
    engine = make_engine(live_settings.database_url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        accept_batch(session, actor=Principal.system(), messages=[message], pipeline=Pipeline(topics=topics))
    engine.dispose()
    expect(badge).to_be_visible(timeout=20000)
    reasons = page.locator("article[data-camera='jjhy-gate1-cam360'] .health-reasons")
    expect(reasons).to_contain_text("分析跟不上设定帧率：" + text)
