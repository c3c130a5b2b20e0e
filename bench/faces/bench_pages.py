"""Page weight and first render of each face's main page, with the demo data.

Run: PYTHONPATH=src .venv/bin/python bench/faces/bench_pages.py [--runs 5]

The demo community is seeded into a fresh SQLite file and the app served by uvicorn. Debian's chromium
signs in as each face's demo account and opens its main page `--runs` times, each time in a new browser
context (empty cache, as on a first visit; the session cookie carried over). From the page's own Resource
and Paint Timing it reads the bytes of JavaScript and CSS transferred (ECharts counted apart, as the target
excludes it) and the time from navigation start to first contentful paint and to the load event.

Ceiling, in the same run: a blank page served by the same server (the cost of the server, the connection
and chromium themselves). Targets: first render under 1 s; the phone and H5 pages under 300 KB of JS+CSS
apart from ECharts.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser, sync_playwright

import jiayuan.models  # noqa: F401
from jiayuan.accounts import passwords
from jiayuan.db import migrate
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.demo.seed import seed_demo
from jiayuan.kernel.crypto import PiiVault
from jiayuan.settings import Settings
from jiayuan.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
BLANK = "/bench-blank"
ECHARTS = "echarts"


@dataclass(frozen=True)
class Target:
    face: str
    path: str
    username: str
    password: str
    viewport: tuple[int, int]
    budget_kb: int | None  # JS+CSS apart from ECharts


TARGETS = (
    Target("ceiling: blank page", BLANK, "", "", (1280, 800), None),
    Target("sign-in", "/login", "", "", (1280, 800), None),
    Target("console home", "/console", "admin", "admin-demo-2026", (1280, 800), None),
    Target("console flow (ECharts)", "/console/flow", "admin", "admin-demo-2026", (1280, 800), None),
    Target("big screen", "/screen", "daping", "daping-demo-2026", (1920, 1080), None),
    Target("grid worker phone", "/m", "grid01", "grid01-demo-2026", (360, 780), 300),
    Target("resident H5", "/h5", "jumin", "jumin-demo-2026", (360, 780), 300),
)

METRICS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  const assets = {js: 0, css: 0, echarts: 0, html: nav.transferSize};
  for (const r of performance.getEntriesByType("resource")) {
    const path = new URL(r.name).pathname;
    if (path.includes("echarts")) assets.echarts += r.transferSize;
    else if (path.endsWith(".js")) assets.js += r.transferSize;
    else if (path.endsWith(".css")) assets.css += r.transferSize;
  }
  return {fcp: fcp ? fcp.startTime : null, load: nav.loadEventEnd, ...assets};
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def seed(directory: Path) -> Settings:
    url = f"sqlite:///{directory / 'faces.db'}"
    migrate.upgrade(url)
    settings = Settings(database_url=url, pii_key="bench-pii-key-0123456789")  # type: ignore[arg-type]
    passwords.configure(time_cost=1, memory_kib=1024)
    engine = make_engine(url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        seed_demo(session, vault=PiiVault.from_secret(settings.pii_key.get_secret_value()))
    engine.dispose()
    return settings


def serve(settings: Settings) -> tuple[uvicorn.Server, str]:
    app = create_app(settings)
    app.add_api_route(
        BLANK, lambda: HTMLResponse("<!doctype html><html lang=en><title>blank</title><p>blank")
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def measure(browser: Browser, base: str, target: Target, runs: int) -> dict[str, float]:
    cookies = []
    if target.username:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{base}/login?next={target.path}")
        page.fill("input[name=username]", target.username)
        page.fill("input[name=password]", target.password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}{target.path}")
        cookies = context.cookies()
        context.close()
    samples: list[dict[str, float]] = []
    for _ in range(runs):
        width, height = target.viewport
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        context.add_cookies(cookies)  # type: ignore[arg-type]
        page = context.new_page()
        page.goto(f"{base}{target.path}", wait_until="load")
        page.wait_for_timeout(200)  # the paint entry lands after the load event on a fast page
        samples.append(page.evaluate(METRICS))
        context.close()
    return {key: statistics.median(s[key] or 0.0 for s in samples) for key in samples[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        settings = seed(Path(tmp))
        print(f"demo seeded in {time.perf_counter() - started:.1f} s")
        server, base = serve(settings)
        machine = platform.processor() or platform.machine()
        print(
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine}, {os.cpu_count()} cores,"
            f" load average {os.getloadavg()[0]:.2f}"
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"]
            )
            print(
                "| page | JS | CSS | JS+CSS apart from ECharts | ECharts | HTML | first contentful paint"
                " | load event | targets |"
            )
            print("|---|---|---|---|---|---|---|---|---|")
            for target in TARGETS:
                m = measure(browser, base, target, args.runs)
                weight = (m["js"] + m["css"]) / 1024
                verdicts = [("met" if m["fcp"] < 1000 else "**missed**") + " (< 1 s)"]
                if target.budget_kb is not None:
                    verdicts.append(("met" if weight < target.budget_kb else "**missed**") + " (< 300 KB)")
                print(
                    f"| {target.face} (`{target.path}`) | {m['js'] / 1024:.1f} KB | {m['css'] / 1024:.1f} KB"
                    f" | {weight:.1f} KB | {m['echarts'] / 1024:.0f} KB | {m['html'] / 1024:.1f} KB"
                    f" | {m['fcp']:.0f} ms | {m['load']:.0f} ms | {', '.join(verdicts)} |"
                )
            browser.close()
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
        server.should_exit = True


if __name__ == "__main__":
    main()
