"""The ingest loop: MQTT (paho, 3.1.1, persistent session, manual ack) → batches → database → bus.

PUBACK is sent only after the batch that holds a message has committed, so a crash or a database
outage at any moment leaves the message with the broker, which delivers it again; the inbox's
unique `(device, id)` makes the second delivery a no-op.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.access.pass_tokens import signer_for
from jiayuan.access.service import passes
from jiayuan.broker_link import live_feed_signer, make_client
from jiayuan.bus import bus
from jiayuan.bus.events import DomainEvent
from jiayuan.cases.service import intake
from jiayuan.db.errors import is_outage, short_message, where
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.devices import commands
from jiayuan.devices.decode import Rejected
from jiayuan.devices.service import pipeline as devices
from jiayuan.devices.service import snapshots
from jiayuan.devices.service.pipeline import RawMessage
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.from_settings import configure_notify, device_pipeline, snapshot_retention
from jiayuan.ingest import handlers, receipts
from jiayuan.ingest.outage import OutageLog
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal
from jiayuan.settings import Settings

log = logging.getLogger(__name__)

# Backoff while the database is away (seconds).
_FIRST_DELAY = 0.2
_LAST_DELAY = 2.0
_LONGEST_PAUSE = 30.0
# How often the duty rosters are produced ahead from their templates (idempotent; also once at start).
_HOURLY_S = 3600.0
# Distinct handler faults whose traceback has been logged (bounded: a fault message may hold values).
_FAULTS_REMEMBERED = 100
# Raw device events stay in this process; what people watch (vehicles, checks, flow, alarms) is relayed.
_NOT_RELAYED = frozenset({"device.event"})
_RELAY_CHUNK = 200


@dataclass(frozen=True)
class Received:
    """One MQTT message waiting for its batch to commit."""

    mid: int
    qos: int
    raw: RawMessage


@dataclass(frozen=True)
class _Commit:
    """A piece of a batch to commit in one transaction."""

    raws: list[RawMessage]


@dataclass(frozen=True)
class _Park:
    """A message the handlers refused, to store as a dead letter."""

    raw: RawMessage
    rejection: Rejected


def _absorb(total: devices.BatchOutcome, part: devices.BatchOutcome) -> None:
    """Add one committed piece's outcome to the batch's (lists extend, counters add)."""
    for item in fields(total):
        mine, theirs = getattr(total, item.name), getattr(part, item.name)
        if isinstance(mine, list | Counter):
            mine += theirs
        else:
            setattr(total, item.name, mine + theirs)


@dataclass
class Stats:
    """Running totals, for logs, tests and the benchmark."""

    batches: int = 0
    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    dead: int = 0
    retries: int = 0
    transactions: int = 0


class IngestLoop:
    """Consume device topics until `stop()`; one instance per process (fixed client id)."""

    def __init__(
        self,
        settings: Settings,
        *,
        sessions: sessionmaker[Session] | None = None,
        on_commit: Callable[[devices.BatchOutcome], None] | None = None,
    ) -> None:
        if not settings.mqtt_url:
            raise ValueError("JIAYUAN_MQTT_URL is not set")
        self.settings = settings
        self.pipeline = device_pipeline(settings)
        configure_notify(settings)  # alarms open cases, and cases announce themselves
        self.public_keys = signer_for(
            settings.pass_signing_key.get_secret_value(), settings.pass_key_id
        ).public_keys()
        self._engine: Engine | None = None
        if sessions is None:
            self._engine = make_engine(settings.database_url)
            sessions = make_sessionmaker(self._engine)
        self.sessions = sessions
        self.on_commit = on_commit
        self.stats = Stats()
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._inbox: queue.Queue[Received] = queue.Queue()
        self._client = self._make_client()
        self._next_liveness = 0.0
        self.snapshot_files = SnapshotFiles(settings.var_dir)
        self._next_prune = 0.0
        self._next_hourly = 0.0
        self._feed_signer = live_feed_signer(settings.secret_key.get_secret_value())
        self._outage = OutageLog(where(settings.database_url))
        self._faults_seen: set[str] = set()
        self._liveness_pause = 1.0

    def _make_client(self) -> mqtt.Client:
        # A persistent session: the broker queues what arrives while ingest is away.
        client = make_client(
            self.settings.mqtt_url or "",
            client_id=self.settings.mqtt_client_id,
            persistent=True,
            manual_ack=True,
            reconnect_max_s=10,
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        topics = self.pipeline.topics
        filters = [topics.events_filter, topics.status_filter, topics.snapshots_filter]
        client.subscribe([(f, 1) for f in filters])
        log.info("ingest connected, subscribing to %s", ", ".join(filters))

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _mid: int,
        reasons: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        # Connected means subscribed: a device publishing before the broker's SUBACK would not reach us.
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            log.error("broker refused the ingest subscriptions: %s", ", ".join(refused))
            return
        self.connected.set()

    def _on_disconnect(self, *_args: object) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("ingest lost the broker; paho reconnects and the session resumes")

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        raw = RawMessage("mqtt", message.topic, bytes(message.payload), utcnow())
        self._inbox.put(Received(message.mid, message.qos, raw))

    def start(self) -> None:
        """Start the network thread (connects in the background, reconnects forever)."""
        self._client.loop_start()

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand and return."""
        self._stop.set()

    def run(self) -> None:
        """Process batches until stopped; unacknowledged messages stay with the broker."""
        self.start()
        held: list[Received] = []  # a batch a platform fault kept from committing, tried again
        pause = _FIRST_DELAY
        try:
            while not self._stop.is_set():
                batch = held or self._collect()
                try:
                    outcome = self._commit_batch([r.raw for r in batch]) if batch else None
                except Exception:
                    # A fault in the platform itself, not in the data: keep the batch unacknowledged
                    # and try it again, slower each time, rather than end the loop.
                    log.exception("ingest batch failed; trying it again in %.1f s", pause)
                    held = batch
                    self._stop.wait(pause)
                    pause = min(pause * 2, _LONGEST_PAUSE)
                    continue
                held, pause = [], _FIRST_DELAY
                if outcome is not None:
                    self._finish(batch, outcome)
                self._liveness()
                self._prune_snapshots()
                self._hourly()
        finally:
            self._client.disconnect()
            self._client.loop_stop()
            if self._engine is not None:
                self._engine.dispose()

    def _collect(self) -> list[Received]:
        size = self.settings.ingest_batch_size
        try:
            first = self._inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.settings.ingest_batch_interval_ms / 1000
        while len(batch) < size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(
                    self._inbox.get(timeout=max(remaining, 0)) if remaining > 0 else self._inbox.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    def _finish(self, batch: list[Received], outcome: devices.BatchOutcome) -> None:
        """After the commit: acknowledge the batch, count it, and send readers that came online their keys."""
        for received in batch:
            if received.qos > 0:
                self._client.ack(received.mid, received.qos)
        self._send_receipts(batch)
        self.stats.batches += 1
        self.stats.messages += len(batch)
        self.stats.accepted += len(outcome.accepted)
        self.stats.duplicates += outcome.duplicates
        self.stats.dead += sum(outcome.dead.values())
        self._send_pass_material([d.id for d in outcome.came_online if d.kind in commands.QR_KINDS])
        if self.on_commit is not None:
            self.on_commit(outcome)

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """A unit of work whose events, once committed, are also announced to the web processes."""
        with unit_of_work(self.sessions) as session:
            yield session
            committed = bus.pending(session)
        self._relay(committed)

    def _relay(self, domain_events: Sequence[DomainEvent]) -> None:
        """Web processes feed these to their live clients; QoS 0: a live view, not a record.

        Signed (see `web.live_feed`): the web processes drop what other broker clients publish there.
        """
        messages = [e.to_message() for e in domain_events if e.name not in _NOT_RELAYED]
        for start in range(0, len(messages), _RELAY_CHUNK):
            body = orjson.dumps(messages[start : start + _RELAY_CHUNK])
            self._client.publish(self.pipeline.topics.committed, self._feed_signer.sign(body), qos=0)

    def _send_receipts(self, batch: list[Received]) -> None:
        """Tell each device which of its messages this batch committed (QoS 1, on its commands topic)."""
        topics = self.pipeline.topics
        for device_id, receipt in receipts.receipts([r.raw for r in batch], topics).items():
            for body in receipts.commands_for(device_id, receipt):
                self._client.publish(topics.commands(device_id), body, qos=1)

    def _send_pass_material(self, device_ids: list[str]) -> None:
        """A QR reader that comes online gets the current keys and revocation list at once."""
        if not device_ids:
            return
        signer = signer_for(self.settings.pass_signing_key.get_secret_value(), self.settings.pass_key_id)
        try:
            with unit_of_work(self.sessions) as session:
                material = {
                    reader: passes.pass_material(session, signer=signer, reader=reader)
                    for reader in device_ids
                }
        except Exception as exc:
            # The readers ask again when they next come online; the batch is already acknowledged.
            if is_outage(exc):
                self._outage.failed(exc, held=self._inbox.qsize())
                log.warning("pass keys not sent to %s: the database is unavailable", device_ids)
            else:
                log.exception("pass keys not sent to %s", device_ids)
            return
        for device_id, commands_for_reader in material.items():
            for type, payload in commands_for_reader.items():
                body = commands.build(device_id, type, payload)
                self._client.publish(self.pipeline.topics.commands(device_id), body, qos=1)

    def _commit_batch(self, raws: list[RawMessage]) -> devices.BatchOutcome | None:
        """Commit a batch, isolating what the handlers or the database refuse; None when stopped.

        Pieces run in the batch's order. A refused piece is split in halves until the refusing
        messages stand alone (O(log n) transactions per poison message, not a replay per message);
        those become `handler_error` dead letters. An outage at any point waits and retries the
        piece in hand, never the pieces already committed, so nothing is stored or parked twice.
        """
        total = devices.BatchOutcome()
        work: list[_Commit | _Park] = [_Commit(raws)]
        delay = _FIRST_DELAY
        while work:
            step = work.pop()
            try:
                outcome = self._commit(step.raws) if isinstance(step, _Commit) else self._park(step)
            except Exception as exc:
                if isinstance(step, _Commit) and not is_outage(exc):
                    work.extend(reversed(self._split(step, exc)))
                    continue
                # The database is away, or refuses a plain dead-letter row (a platform fault, not
                # data): retry this step only, as the pieces before it are committed already.
                work.append(step)
                self.stats.retries += 1
                if is_outage(exc):
                    self._outage.failed(exc, held=len(raws) + self._inbox.qsize())
                else:
                    log.exception("dead letter not stored; trying again in %.1f s", delay)
                if self._stop.wait(delay):
                    return None
                delay = min(delay * 2, _LAST_DELAY)
                continue
            delay = _FIRST_DELAY
            self.stats.transactions += 1
            self._outage.succeeded()
            _absorb(total, outcome)
        return total

    def _split(self, step: _Commit, exc: Exception) -> list[_Commit | _Park]:
        """The halves of a refused piece, or the dead letter of a single refused message."""
        if len(step.raws) > 1:
            middle = len(step.raws) // 2
            return [_Commit(step.raws[:middle]), _Commit(step.raws[middle:])]
        raw = step.raws[0]
        detail = short_message(exc)
        # One line per refused message; the traceback once per kind of fault (it is the same code path).
        first = detail not in self._faults_seen and len(self._faults_seen) < _FAULTS_REMEMBERED
        if first:
            self._faults_seen.add(detail)
        log.warning(
            "message on %s refused by the handlers (%s); kept as a dead letter",
            raw.topic,
            detail,
            exc_info=exc if first else None,
        )
        topics = self.pipeline.topics
        parsed = topics.parse(raw.topic) or topics.parse_snapshot(raw.topic)  # (device, …) either way
        return [_Park(raw, Rejected("handler_error", detail, parsed[0] if parsed else None))]

    def _commit(self, raws: list[RawMessage]) -> devices.BatchOutcome:
        system = Principal.system()
        with self._transaction() as session:
            outcome = snapshots.accept_messages(
                session, actor=system, messages=raws, pipeline=self.pipeline, files=self.snapshot_files
            )
            intake.dispatch(session, outcome, public_keys=self.public_keys)
        return outcome

    def _park(self, step: _Park) -> devices.BatchOutcome:
        with self._transaction() as session:
            return devices.park(session, actor=Principal.system(), message=step.raw, rejection=step.rejection)

    def _liveness(self) -> None:
        """Once a second: what falls due with time (silent devices, overdue cases: handlers.every_second)."""
        if time.monotonic() < self._next_liveness:
            return
        self._next_liveness = time.monotonic() + 1.0
        try:
            with self._transaction() as session:
                handlers.every_second(session, now=utcnow())
        except Exception as exc:
            if is_outage(exc):
                self._outage.failed(exc, held=self._inbox.qsize())
                return
            # A platform fault: the batches go on; the check waits longer each time it fails.
            log.exception("liveness check failed; next try in %.0f s", self._liveness_pause)
            self._next_liveness = time.monotonic() + self._liveness_pause
            self._liveness_pause = min(self._liveness_pause * 2, _LONGEST_PAUSE)
        else:
            self._liveness_pause = 1.0
            self._outage.succeeded()

    def _hourly(self) -> None:
        """Hourly: duty rosters produced ahead from their templates, uploads never given dropped."""
        if time.monotonic() < self._next_hourly:
            return
        self._next_hourly = time.monotonic() + _HOURLY_S
        try:
            with self._transaction() as session:
                handlers.hourly(session, now=utcnow())
        except Exception as exc:
            # Housekeeping: a failure waits for the next round and never holds up the batches.
            if is_outage(exc):
                log.warning("database unavailable; hourly upkeep postponed")
            else:
                log.exception("hourly upkeep failed; trying again in the next round")

    def _prune_snapshots(self) -> None:
        """Now and then: keep stored snapshots within their retention and byte budget."""
        if time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + self.settings.snapshot_prune_interval_s
        try:
            with unit_of_work(self.sessions) as session:
                snapshots.prune(
                    session,
                    actor=Principal.system(),
                    files=self.snapshot_files,
                    retention=snapshot_retention(self.settings),
                )
        except Exception as exc:
            # Housekeeping: a failure waits for the next round and never holds up the batches.
            if is_outage(exc):
                log.warning("database unavailable; snapshot pruning postponed")
            else:
                log.exception("snapshot pruning failed; trying again in the next round")
