"""One poison message in a hundred against a clean stream: how much longer the same stream takes.

    PYTHONPATH=src:. .venv/bin/python bench/ingest/bench_poison.py --backend postgresql --seconds 20

A publisher process sends `--rate` heartbeats a second for `--seconds` through the test Mosquitto to an
`IngestLoop`; in the poisoned run every 100th one carries a marker that a trigger makes the database
refuse (a real refusal, as a platform fault would be). Reported: time from the first message to the last
one stored or parked, transactions, and the poisoned run's time as a ratio of the clean run's (the
ceiling, measured in the same run).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench_ingest import (  # this script's folder is on sys.path
    DEVICES,
    MQTT_URL,
    new_database,
    publish,
    start_loop,
)
from bench_site import seed_gate
from tests.ingest.poison import MARKER, install_poison

from jiayuan.db.session import make_engine
from jiayuan.devices.service.pipeline import BatchOutcome
from jiayuan.settings import Settings

POISON_EVERY = 100


def run(url: str, *, count: int, rate: float, poison_every: int) -> dict[str, float]:
    """Stream `count` heartbeats at `rate`; seconds until all are stored or parked, and transactions."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        env="test", database_url=url, mqtt_url=MQTT_URL, mqtt_topic_prefix=prefix, mqtt_client_id=prefix
    )
    handled = 0
    done = threading.Event()

    def on_commit(outcome: BatchOutcome) -> None:
        nonlocal handled
        handled += len(outcome.accepted) + sum(outcome.dead.values())
        if handled >= count:
            done.set()

    loop, thread = start_loop(settings, on_commit)
    extra = ("--poison-every", str(poison_every), "--marker", MARKER) if poison_every else ()
    started = time.perf_counter()
    publisher = publish(prefix, "bench-hb", "heartbeat", count, rate, extra)
    done.wait(count / rate * 20 + 60)
    elapsed = time.perf_counter() - started
    publisher.wait()
    loop.stop()
    thread.join(10)
    return {
        "seconds": round(elapsed, 1),
        "transactions": loop.stats.transactions,
        "batches": loop.stats.batches,
    }


def main() -> None:
    """Clean run, then the poisoned run, on one fresh database each."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=500)
    args = parser.parse_args()
    count = int(args.seconds * args.rate)
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name, every in (("clean", 0), ("1% poison", POISON_EVERY)):
            url, drop = new_database(args.backend, Path(workdir))
            seed_gate(url, DEVICES)
            engine = make_engine(url)
            install_poison(engine, pause_s=0)
            engine.dispose()
            try:
                results[name] = run(url, count=count, rate=args.rate, poison_every=every)
            finally:
                drop()
            print(name, results[name], flush=True)
    ratio = results["1% poison"]["seconds"] / results["clean"]["seconds"]
    print(f"{count} events at {args.rate:.0f}/s on {args.backend}: poisoned/clean = {ratio:.2f}")


if __name__ == "__main__":
    main()
