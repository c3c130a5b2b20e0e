"""Messages the database refuses are isolated cheaply, logged once, and survive an outage mid-isolation."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.devices.models import DeadLetter, DeviceEvent, DeviceStatus
from jiayuan.devices.protocol import Topics
from jiayuan.ingest.runner import IngestLoop
from jiayuan.kernel.clock import utcnow
from jiayuan.settings import Settings
from tests.broker.helpers import eventually
from tests.devices.helpers import envelope
from tests.devices.snapshot_helpers import jpeg
from tests.factories import seed_site
from tests.ingest.poison import (
    MARKER,
    install_poison,
    install_refused_silence,
    install_refused_snapshots,
    remove_poison,
    remove_refused_silence,
    remove_refused_snapshots,
)
from tests.ingest.proxy import TcpProxy
from tests.ingest.running import ingesting

pytestmark = pytest.mark.mqtt
DEVICE = "jjhy-gate1-qr"


@pytest.fixture
def poison(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[Callable[[float], None]]:
    """Install the refusing trigger on request; always removed afterwards."""
    yield lambda pause_s: install_poison(engine, pause_s=pause_s)
    remove_poison(engine)


def stream(count: int, every: int) -> tuple[list[bytes], int]:
    """`count` heartbeats, every `every`-th of them poisoned; returns them and the number poisoned."""
    now = utcnow()
    raws = [
        envelope(
            DEVICE, "heartbeat", {"uptime_s": i, "fw": MARKER if i % every == every // 2 else "1.0"}, ts=now
        )
        for i in range(count)
    ]
    return raws, sum(1 for i in range(count) if i % every == every // 2)


def publish_queued(publisher: mqtt.Client, topic: str, raws: list[bytes]) -> None:
    for raw in raws:
        publisher.publish(topic, raw, qos=1)
    publisher.publish(topic, raws[-1], qos=1).wait_for_publish(30)  # a duplicate, to know all are out


def counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(DeviceEvent)) or 0,
            session.scalar(select(func.count()).select_from(DeadLetter)) or 0,
        )


def all_handled(sessions: sessionmaker[Session], loop: IngestLoop, raws: list[bytes], poisoned: int) -> bool:
    """Every good message stored, every poison parked, and the trailing duplicate seen."""
    return counts(sessions) == (len(raws) - poisoned, poisoned) and loop.stats.messages > len(raws)


def test_one_poison_in_a_hundred_costs_a_few_transactions_and_one_log_line(
    sessions: sessionmaker[Session],
    broker_settings: Settings,
    prefix: str,
    publisher: mqtt.Client,
    poison: Callable[[float], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with sessions() as session:
        seed_site(session)
    poison(0)
    raws, poisoned = stream(2000, every=100)
    settings = broker_settings.model_copy(update={"ingest_batch_size": 250})
    loop = IngestLoop(settings, sessions=sessions)
    caplog.set_level(logging.WARNING, logger="jiayuan.ingest.runner")
    with ingesting(loop):
        publish_queued(publisher, Topics(prefix).events(DEVICE), raws)
        assert eventually(lambda: all_handled(sessions, loop, raws, poisoned), 60), (
            counts(sessions),
            loop.stats,
        )

    # Bisection: each poison costs about 2·log2(batch) extra transactions; replaying a failing batch one
    # message per transaction would cost a transaction per message (2,000 here).
    depth = math.ceil(math.log2(settings.ingest_batch_size)) + 1
    assert loop.stats.transactions <= loop.stats.batches + poisoned * 2 * depth, loop.stats
    refused = [r for r in caplog.records if "refused by the handlers" in r.getMessage()]
    assert len(refused) == poisoned  # one line per poison message, none per retry
    assert sum(1 for r in caplog.records if r.exc_info) == 1  # the traceback once for this kind of fault
    with sessions() as session:
        letters = session.scalars(select(DeadLetter)).all()
        assert {(d.reason, d.device_id) for d in letters} == {("handler_error", DEVICE)}
        status = session.get(DeviceStatus, DEVICE)
        assert status is not None and status.dead_letters == poisoned
        for letter in letters:
            assert "poison payload refused" in letter.detail
            assert "INSERT" not in letter.detail.upper() and "uptime_s" not in letter.detail


def test_an_outage_while_a_poison_is_isolated_loses_and_doubles_nothing(
    sessions: sessionmaker[Session],
    engine: Engine,
    database_url: str,
    broker_settings: Settings,
    prefix: str,
    publisher: mqtt.Client,
    poison: Callable[[float], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a file database has no outage to cut: a lock is waited out by the busy timeout")
    with sessions() as session:
        seed_site(session)
    poison(1.0)
    proxy = TcpProxy(("127.0.0.1", 5432))
    proxy.restore()
    proxied = database_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    proxied_engine = make_engine(proxied)
    settings = broker_settings.model_copy(update={"ingest_batch_size": 400, "database_url": proxied})
    loop = IngestLoop(settings, sessions=make_sessionmaker(proxied_engine))
    caplog.set_level(logging.WARNING, logger="jiayuan.ingest.runner")
    raws, poisoned = stream(400, every=200)  # two poison messages in what becomes one or two batches

    def sleeping() -> set[tuple[int, object]]:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT pid, query_start FROM pg_stat_activity WHERE wait_event = 'PgSleep'")
            ).all()
        return {(row.pid, row.query_start) for row in rows}

    def cut_during_isolation() -> None:
        seen: set[tuple[int, object]] = set()
        deadline = time.monotonic() + 60
        while len(seen) < 2 and time.monotonic() < deadline:  # the second refusal is inside the split
            seen |= sleeping()
            time.sleep(0.05)
        proxy.cut()
        time.sleep(3)
        proxy.restore()

    cutter = threading.Thread(target=cut_during_isolation)
    try:
        with ingesting(loop) as thread:
            cutter.start()
            publish_queued(publisher, Topics(prefix).events(DEVICE), raws)
            cutter.join(90)
            assert eventually(lambda: all_handled(sessions, loop, raws, poisoned), 60), (
                counts(sessions),
                loop.stats,
            )
            time.sleep(1.0)  # a doubled dead letter would show up now
            assert thread.is_alive()
    finally:
        proxied_engine.dispose()
        proxy.cut()

    assert counts(sessions) == (len(raws) - poisoned, poisoned)
    assert loop.stats.retries >= 1
    messages = [r.getMessage() for r in caplog.records]
    away = [m for m in messages if m.startswith("database unavailable at")]
    back = [m for m in messages if m.startswith("database back at")]
    assert len(away) == 1 and len(back) == 1, messages
    assert f"127.0.0.1:{proxy.port}/" in away[0] and "OperationalError" in away[0]
    assert "@" not in away[0]  # no credentials in the log


def test_a_failing_liveness_check_neither_stops_nor_repeats_the_batches(
    sessions: sessionmaker[Session],
    engine: Engine,
    broker_settings: Settings,
    prefix: str,
    publisher: mqtt.Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with sessions() as session:
        seed_site(session)
        # Another device's silence is due, and the database refuses to record it, every second.
        session.add(DeviceStatus(device_id="jjhy-gate2-qr", silent_due_at=utcnow() - timedelta(minutes=1)))
        session.commit()
    install_refused_silence(engine)
    try:
        raws, _ = stream(300, every=10**6)
        loop = IngestLoop(broker_settings, sessions=sessions)
        caplog.set_level(logging.WARNING, logger="jiayuan.ingest.runner")
        with ingesting(loop):
            for raw in raws:  # about 3 s of traffic: several liveness rounds fail meanwhile
                publisher.publish(Topics(prefix).events(DEVICE), raw, qos=1).wait_for_publish(5)
                time.sleep(0.01)
            assert eventually(lambda: counts(sessions) == (len(raws), 0), 30), counts(sessions)
            time.sleep(1.5)  # a batch handled twice would show up now
    finally:
        remove_refused_silence(engine)
    assert (loop.stats.messages, loop.stats.duplicates) == (len(raws), 0), loop.stats
    with sessions() as session:
        status = session.get(DeviceStatus, DEVICE)
        assert status is not None and (status.events_accepted, status.duplicates) == (len(raws), 0)
    assert any("liveness" in r.getMessage() for r in caplog.records if r.exc_info)


def test_a_snapshot_the_database_refuses_is_counted_for_its_device(
    engine: Engine,
    sessions: sessionmaker[Session],
    broker_settings: Settings,
    prefix: str,
    publisher: mqtt.Client,
) -> None:
    with sessions() as session:
        seed_site(session)
    install_refused_snapshots(engine)
    loop = IngestLoop(broker_settings, sessions=sessions)
    try:
        with ingesting(loop):
            publisher.publish(Topics(prefix).snapshot("jjhy-gate1-cam", "snap-1"), jpeg(), qos=1)
            assert eventually(lambda: counts(sessions)[1] == 1, 30), loop.stats
    finally:
        remove_refused_snapshots(engine)
    with sessions() as session:
        letters = session.scalars(select(DeadLetter)).all()
        assert [(d.reason, d.device_id) for d in letters] == [("handler_error", "jjhy-gate1-cam")]
        status = session.get(DeviceStatus, "jjhy-gate1-cam")
        assert status is not None and status.dead_letters == 1
