"""Does the big screen run for days? Drive it hard and watch its JS heap.

Run: PYTHONPATH=src .venv/bin/python bench/screen/bench_heap.py [--minutes 12] [--rate 40]

The demo community (5 compounds, 46 buildings, 5 gates) is seeded into a fresh SQLite file, the app is
served by uvicorn, and Debian's chromium opens /screen as the read-only screen account. The gates' plate
cameras and camera counters then post events over HTTP at `--rate` per second (an hour of a busy
community's traffic every few minutes: the demo simulator sends about 1 per second), every 200th plate a
watch-listed one (an alarm, its case, a state reload on the screen). The screen's state reload, normally
every 5 minutes, runs every 20 s here, so a 12-minute run goes through about 36 reloads.

Every 30 s the bench forces a garbage collection through the Chrome DevTools Protocol and reads the JS
heap (`Runtime.getHeapUsage`) and the DOM node count (`Performance.getMetrics`). The target: flat after
warm-up. The ceiling, measured in the same run, is the heap of the same page just loaded.
"""

from __future__ import annotations

import argparse
import itertools
import random
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from playwright.sync_api import sync_playwright
from sqlalchemy import select

import jiayuan.models  # noqa: F401
from jiayuan.access.schemas import WatchPlateIn
from jiayuan.access.service import vehicles
from jiayuan.accounts import passwords
from jiayuan.accounts.service.tokens import issue_api_token
from jiayuan.db import migrate
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.demo.seed import seed_demo
from jiayuan.devices.protocol import event_body
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal
from jiayuan.registry.models import Community, Device
from jiayuan.settings import Settings
from jiayuan.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
WATCHED = "豫D88888"
SAMPLE_EVERY_S = 30
RELOAD_EVERY_S = 20
PROVINCES = "豫京沪鲁冀晋苏浙"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def seed(directory: Path) -> tuple[Settings, dict[str, str]]:
    """The demo community in a fresh SQLite file; device tokens of every plate camera and counter."""
    url = f"sqlite:///{directory / 'screen.db'}"
    migrate.upgrade(url)
    settings = Settings(database_url=url, pii_key="bench-pii-key-0123456789")  # type: ignore[arg-type]
    passwords.configure(time_cost=1, memory_kib=1024)
    engine = make_engine(url)
    system = Principal.system()
    with unit_of_work(make_sessionmaker(engine)) as session:
        seed_demo(session, vault=PiiVault.from_secret(settings.pii_key.get_secret_value()))
        devices = session.scalars(select(Device).where(Device.kind.in_(("plate_camera", "camera_360")))).all()
        tokens = {d.id: issue_api_token(session, actor=system, name="bench", device_id=d.id) for d in devices}
        community = session.scalars(select(Community).order_by(Community.id)).first()
        assert community is not None
        vehicles.add_watch_plate(
            session, actor=system, data=WatchPlateIn(community_id=community.id, plate=WATCHED, reason="压测")
        )
    engine.dispose()
    return settings, tokens


def serve(settings: Settings) -> tuple[uvicorn.Server, str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def drive(base: str, tokens: dict[str, str], rate: float, stop: threading.Event, sent: list[int]) -> None:
    """Post gate events at `rate` per second until stopped: plates in and out, people counted."""
    rng = random.Random(7)
    cameras = sorted(d for d in tokens if d.endswith("-plate"))
    counters = sorted(d for d in tokens if d.endswith("-cam360"))
    with httpx.Client(base_url=base, timeout=10) as client:
        for n in itertools.count(1):
            if stop.is_set():
                return
            started = time.monotonic()
            if n % 2 and cameras:
                device = rng.choice(cameras)
                plate = WATCHED if n % 200 == 0 else f"{rng.choice(PROVINCES)}A{rng.randrange(10000, 99999)}"
                payload: dict[str, object] = {
                    "plate": plate,
                    "color": "blue",
                    "confidence": 0.93,
                    "direction": rng.choice(["in", "out"]),
                }
                kind = "plate_read"
            else:
                device = rng.choice(counters or cameras)
                payload = {
                    "line": "gate",
                    "class": "person",
                    "direction": rng.choice(["in", "out"]),
                    "count": 1,
                }
                kind = "line_cross"
            _, body = event_body(device, kind, payload, at=utcnow())  # type: ignore[arg-type]
            response = client.post(
                f"/api/v1/devices/{device}/events", content=body,
                headers={"Authorization": f"Bearer {tokens[device]}"},
            )  # fmt: skip
            if response.status_code == 202:
                sent[0] += 1
            time.sleep(max(0.0, 1 / rate - (time.monotonic() - started)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=12)
    parser.add_argument("--rate", type=float, default=40, help="events per second")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings, tokens = seed(Path(tmp))
        server, base = serve(settings)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
            page.goto(f"{base}/screen?reload_s={RELOAD_EVERY_S}")
            page.fill("input[name=username]", "daping")
            page.fill("input[name=password]", "daping-demo-2026")
            page.click("button[type=submit]")
            page.wait_for_selector("#s-conn[data-state=live]")
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")

            def sample() -> tuple[float, int]:
                cdp.send("HeapProfiler.collectGarbage")
                used = cdp.send("Runtime.getHeapUsage")["usedSize"] / 1e6
                metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                return used, int(metrics["Nodes"])

            ceiling = sample()
            stop = threading.Event()
            sent = [0]
            driver = threading.Thread(target=drive, args=(base, tokens, args.rate, stop, sent), daemon=True)
            driver.start()
            samples: list[tuple[float, float, int, int]] = []
            started = time.monotonic()
            while time.monotonic() - started < args.minutes * 60:
                time.sleep(SAMPLE_EVERY_S)
                elapsed = time.monotonic() - started
                heap, nodes = sample()
                samples.append((elapsed / 60, heap, nodes, sent[0]))
                print(
                    f"{elapsed / 60:5.1f} min  heap {heap:6.2f} MB  nodes {nodes:6d}  events {sent[0]}",
                    flush=True,
                )
            stop.set()
            driver.join(timeout=15)
            alarms = page.locator("#s-alarm-count").inner_text()
            browser.close()
        server.should_exit = True
    warm = [s for s in samples if s[0] >= 2] or samples
    half = len(warm) // 2 or 1
    first, last = statistics.mean(s[1] for s in warm[:half]), statistics.mean(s[1] for s in warm[half:])
    peak = max(s[1] for s in warm)
    print(
        f"\nceiling (fresh page): heap {ceiling[0]:.2f} MB, {ceiling[1]} nodes; events posted {sent[0]} "
        f"({sent[0] / (args.minutes * 60):.1f}/s), open alarms on screen {alarms}\n"
        f"after warm-up: first half {first:.2f} MB, second half {last:.2f} MB, growth {last - first:+.2f} MB;"
        f" max {peak:.2f} MB = {peak / ceiling[0]:.2f}x the fresh page;"
        f" nodes {min(s[2] for s in warm)}–{max(s[2] for s in warm)}"
    )


if __name__ == "__main__":
    main()
