"""A broker SIGKILL with a backlog queued: what each broker setup loses and what its safety costs.

    PYTHONPATH=src:. .venv/bin/python bench/ingest/broker_crash.py --events 20000

For each setup: a fresh database, a fresh broker in a temporary folder; the ingest subscribes and goes
away (as in a database outage), devices publish `--events` heartbeats at QoS 1 until the broker has
acknowledged every one, the broker is SIGKILLed and started again, and the ingest drains what is left.
Reported: events lost (acknowledged by the broker, never stored), the publishing rate until the last
PUBACK, and the drain time. The ceiling for the rate is Mosquitto saving every 30 s, measured in the
same run: the least a persistent broker does per message.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from bench_ingest import new_database  # this script's folder is on sys.path
from tests.broker.crash import CrashResult, crash_with_backlog
from tests.broker.processes import PLATFORM_PASSWORD, PLATFORM_USER, PrivateBroker, nats_jetstream
from tests.factories import seed_site

from jiayuan.broker import dynsec
from jiayuan.broker.config import AUTOSAVE_CHANGES, BrokerConfig, dynsec_plugin
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.ingest.embedded_broker import free_port
from jiayuan.settings import Settings

SHIPPED_AUTOSAVE = f"autosave_on_changes true\nautosave_interval {AUTOSAVE_CHANGES}\n"


def mosquitto(directory: Path, *, every_30_s: bool) -> PrivateBroker:
    """Mosquitto from the shipped configuration, or with the 30-second saving it used to have."""
    plugin = dynsec_plugin()
    if plugin is None:
        raise SystemExit("Mosquitto's dynamic security plugin is missing: run make services first")
    directory.mkdir(parents=True)
    port = free_port()
    (directory / "dynamic-security.json").write_text(
        json.dumps(dynsec.initial_config(username=PLATFORM_USER, password=PLATFORM_PASSWORD)),
        encoding="utf-8",
    )
    text = BrokerConfig(
        var_dir=str(directory), port=port, plugin=plugin, max_packet_bytes=Settings().mqtt_max_packet_bytes
    ).render()
    assert SHIPPED_AUTOSAVE in text
    if every_30_s:
        text = text.replace(SHIPPED_AUTOSAVE, "autosave_interval 30\n")
    config = directory / "mosquitto.conf"
    config.write_text(text, encoding="utf-8")
    return PrivateBroker(directory, port, config)


def run(backend: str, workdir: Path, name: str, events: int) -> CrashResult:
    """One setup on its own database and broker."""
    url, drop = new_database(backend, workdir)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        seed_site(session)
    folder = workdir / name.replace(" ", "-")
    if name.startswith("nats"):
        broker = nats_jetstream(folder, free_port())
        mqtt_url = f"mqtt://127.0.0.1:{broker.port}"
    else:
        broker = mosquitto(folder, every_30_s=name == "mosquitto-30s")
        mqtt_url = broker.url
    settings = Settings(
        env="test",
        database_url=url,
        mqtt_url=mqtt_url,
        mqtt_topic_prefix="crash",
        mqtt_client_id="crash-ingest",
    )
    broker.start()
    try:
        return crash_with_backlog(
            broker,
            mqtt_url,
            settings,
            sessions,
            events=events,
            outbox=name.endswith("outbox"),
            drain_timeout=600,
        )
    finally:
        broker.stop()
        engine.dispose()
        drop()


def main() -> None:
    """Every setup in turn; a Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--events", type=int, default=20000)
    args = parser.parse_args()
    setups = ["mosquitto-30s", "mosquitto-shipped", "mosquitto-shipped+outbox"]
    if shutil.which("nats-server"):
        setups.insert(2, "nats-jetstream")
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name in setups:
            results[name] = run(args.backend, Path(workdir), name, args.events)
            print(name, results[name], flush=True)
    ceiling = results["mosquitto-30s"]
    print("\n| setup | acknowledged | stored | lost | publish rate | vs 30 s saving | drain |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        rate = r.published / r.publish_s
        print(
            f"| {name} | {r.published:,} | {r.stored:,} | {r.lost:,} | {rate:,.0f}/s "
            f"| {r.publish_s / ceiling.publish_s:.2f} | {r.drain_s:.1f} s |"
        )


if __name__ == "__main__":
    main()
