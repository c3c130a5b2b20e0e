"""Ingest throughput and latency through Mosquitto into PostgreSQL and SQLite, beside the raw ceiling.

    PYTHONPATH=src .venv/bin/python bench/ingest/bench_ingest.py --backend both

Per backend, in one run on the same machine:
- ceiling: a bare paho subscriber (MQTT 3.1.1, persistent session, PUBACK after commit) that only batches
  rows into one table with executemany;
- pipeline: `IngestLoop` (validation, de-duplication, status counters, domain handlers, bus);
- latency at a steady rate: publish→stored (batch committed) and publish→WebSocket (a client of
  `/ws/v1/access`, in its own process, receiving `access.vehicle_seen`), with the web app in one
  process and the ingest loop in a child process relaying to it over the broker, as `jiayuan serve`
  runs them.
The publisher and WebSocket client processes share the two cores with the platform, as devices and
browsers would not.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import uvicorn
from bench_site import seed_gate, test_broker_url  # this script's folder is on sys.path
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Column, MetaData, String, Table, Text, create_engine, insert, text
from ws_client import publish_time

from jiayuan.broker_link import parse_mqtt_url
from jiayuan.bus.hub import hub
from jiayuan.cli.serve import server_config
from jiayuan.db import migrate
from jiayuan.db.session import make_engine, normalise_url
from jiayuan.devices.protocol import Topics
from jiayuan.devices.service.pipeline import BatchOutcome
from jiayuan.ingest.runner import IngestLoop
from jiayuan.ingest.supervisor import start_in_child_process
from jiayuan.kernel.heap import settle
from jiayuan.settings import Settings

HERE = Path(__file__).resolve().parent
PG_ADMIN = os.environ.get("JIAYUAN_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


MQTT_URL = test_broker_url()
# The gate's devices the publisher speaks for, by id.
DEVICES = {f"bench-{kind}": kind for kind in ("hb", "plate", "raw")}


def new_database(backend: str, workdir: Path) -> tuple[str, Callable[[], None]]:
    """A migrated empty database and how to drop it."""
    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        migrate.upgrade(url)
        return url, lambda: None
    name = f"jiayuan_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(PG_ADMIN), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    migrate.upgrade(url)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def publish(
    prefix: str, device: str, kind: str, count: int, rate: float = 0, extra: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """Start the publisher process (`extra`: more of its options)."""
    return subprocess.Popen(
        [
            sys.executable,
            str(HERE / "publisher.py"),
            "--url",
            MQTT_URL,
            "--prefix",
            prefix,
            "--device",
            device,
            "--kind",
            kind,
            "--count",
            str(count),
            "--rate",
            str(rate),
            *extra,
        ],
    )


def ceiling(url: str, count: int) -> float:
    """Events/s of a bare subscriber that only batches rows into the database."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    engine = make_engine(url)
    table = Table(
        "bench_raw", MetaData(), Column("device", String(64)), Column("event_id", String(64), unique=True),
        Column("body", Text),
    )  # fmt: skip
    table.create(engine, checkfirst=True)
    inbox: queue.Queue[tuple[int, bytes]] = queue.Queue()
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id=prefix, clean_session=False,
        protocol=mqtt.MQTTv311, manual_ack=True,
    )  # fmt: skip
    target = parse_mqtt_url(MQTT_URL)
    client.username_pw_set(target.username or "bench", target.password)
    ready = threading.Event()
    client.on_connect = lambda c, *_a: (c.subscribe(Topics(prefix).events_filter, qos=1), ready.set())
    client.on_message = lambda _c, _u, m: inbox.put((m.mid, bytes(m.payload)))
    client.connect(target.host, target.port)
    client.loop_start()
    ready.wait(10)
    time.sleep(0.3)
    publisher = publish(prefix, "bench-raw", "heartbeat", count)
    stored = 0
    first = last = 0.0
    while stored < count:
        batch = [inbox.get()]
        first = first or time.perf_counter()
        deadline = time.perf_counter() + 0.01
        while len(batch) < 500 and time.perf_counter() < deadline:
            try:
                batch.append(inbox.get(timeout=max(deadline - time.perf_counter(), 0)))
            except queue.Empty:
                break
        rows = []
        for _mid, body in batch:
            data = json.loads(body)
            rows.append({"device": data["device"], "event_id": data["id"], "body": body.decode()})
        with engine.begin() as connection:
            connection.execute(insert(table), rows)
        for mid, _ in batch:
            client.ack(mid, 1)
        stored += len(batch)
        last = time.perf_counter()
    publisher.wait()
    client.loop_stop()
    client.disconnect()
    engine.dispose()
    return count / (last - first)


def start_loop(
    settings: Settings, on_commit: Callable[[BatchOutcome], None]
) -> tuple[IngestLoop, threading.Thread]:
    """An `IngestLoop` in a thread of this process, subscribed (so nothing published next is missed)."""
    loop = IngestLoop(settings, on_commit=on_commit)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    loop.connected.wait(10)
    time.sleep(0.3)  # the SUBACK
    return loop, thread


def pipeline(settings: Settings, kind: str, device: str, count: int) -> float:
    """Events/s through `IngestLoop`, flat out."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(update={"mqtt_topic_prefix": prefix, "mqtt_client_id": prefix})
    marks: list[float] = []
    done = threading.Event()
    total = 0

    def on_commit(outcome: BatchOutcome) -> None:
        nonlocal total
        total += len(outcome.accepted)
        marks.append(time.perf_counter())
        if total >= count:
            done.set()

    loop, thread = start_loop(settings, on_commit)
    publisher = publish(prefix, device, kind, count)
    first = None
    while not done.wait(0.001):
        if first is None and not loop._inbox.empty():  # the first message arrived
            first = time.perf_counter()
    publisher.wait()
    loop.stop()
    thread.join(10)
    return count / (marks[-1] - (first or marks[0]))


class CommitTimes:
    """publish→commit of every stored event, taken inside the ingest process (a `CommitObserver`)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, outcome: BatchOutcome) -> None:
        now = time.time()
        self.seconds.extend(now - publish_time(a.envelope.id) for a in outcome.accepted)

    def report(self) -> list[float]:
        return self.seconds

    def receive(self, report: list[float]) -> None:
        self.seconds = report


def latency(settings: Settings, token: str, rate: float, seconds: float) -> dict[str, float]:
    """p50/p99 publish→stored and publish→WebSocket at a steady rate, as `jiayuan serve` runs:
    the web app in one process, the ingest loop in a child process relaying to it over the broker."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(update={"mqtt_topic_prefix": prefix, "mqtt_client_id": prefix})
    port = 18000 + os.getpid() % 1000
    server = uvicorn.Server(server_config(settings, host="127.0.0.1", port=port))
    settle()  # as `jiayuan serve` does
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    commits = CommitTimes()
    ingest = start_in_child_process(settings, observer=commits)
    count = int(rate * seconds)
    client = subprocess.Popen(
        [sys.executable, str(HERE / "ws_client.py"), "--url", f"ws://127.0.0.1:{port}/ws/v1/access?token={token}",
         "--count", str(count), "--seconds", str(seconds + 30)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert client.stdout is not None
    client.stdout.readline()  # "ready"
    time.sleep(0.5)  # the live feed's subscription
    publisher = publish(prefix, "bench-plate", "plate", count, rate)
    pushed: list[float] = json.loads(client.stdout.readline() or "[]")
    client.wait()
    publisher.wait()
    ingest.stop()
    stored = commits.seconds
    server.should_exit = True
    hub.detach()

    def pct(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 2 else float("nan")

    return {
        "stored_p50": pct(stored, 50), "stored_p99": pct(stored, 99),
        "ws_p50": pct(pushed, 50), "ws_p99": pct(pushed, 99), "ws_received": len(pushed), "sent": count,
    }  # fmt: skip


def main() -> None:
    """Run every measurement on the chosen backends and print a Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    settle()  # every stage runs on a settled heap, as the platform's processes do
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for backend in backends:
            url, drop = new_database(backend, Path(workdir))
            try:
                token = seed_gate(url, DEVICES)
                settings = Settings(env="test", database_url=url, mqtt_url=MQTT_URL, var_dir=Path(workdir))
                raw = ceiling(url, args.events)
                beats = pipeline(settings, "heartbeat", "bench-hb", args.events)
                plates = pipeline(settings, "plate", "bench-plate", args.events // 2)
                lat = latency(settings, token, args.rate, args.seconds)
                rows.append((backend, raw, beats, plates, lat))
            finally:
                drop()
    load = os.getloadavg()[0]
    print(
        f"load average {load:.1f}; {args.events} events flat out;"
        f" latency at {args.rate:.0f}/s for {args.seconds:.0f} s"
    )
    print(
        "| backend | ceiling (bare subscriber) | pipeline, heartbeats | ratio | pipeline, plate reads |"
        " ratio | p50/p99 publish→stored | p50/p99 publish→WebSocket | WS messages |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for backend, raw, beats, plates, lat in rows:
        stored = f"{lat['stored_p50']:.0f} / {lat['stored_p99']:.0f} ms"
        pushed = f"{lat['ws_p50']:.0f} / {lat['ws_p99']:.0f} ms"
        print(
            f"| {backend} | {raw:,.0f}/s | {beats:,.0f}/s | {beats / raw:.0%} | {plates:,.0f}/s"
            f" | {plates / raw:.0%} | {stored} | {pushed} | {lat['ws_received']:.0f}/{lat['sent']:.0f} |"
        )


if __name__ == "__main__":
    main()
