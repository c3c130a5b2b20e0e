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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.access import passes_service
from jiayuan.access.passes import signer_for
from jiayuan.broker_link import live_feed_signer, parse_mqtt_url
from jiayuan.bus import bus
from jiayuan.bus.events import DomainEvent
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.devices import commands
from jiayuan.devices import service as devices
from jiayuan.devices.decode import Rejected
from jiayuan.devices.service import Pipeline, RawMessage
from jiayuan.ingest import handlers
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal
from jiayuan.settings import Settings

log = logging.getLogger(__name__)

# Errors that mean "the database is not reachable right now": keep the batch, wait, try again.
_TRANSIENT = (OperationalError, DisconnectionError)
# Raw device events stay in this process; what people watch (vehicles, checks, flow, alarms) is relayed.
_NOT_RELAYED = frozenset({"device.event"})
_RELAY_CHUNK = 200


@dataclass(frozen=True)
class Received:
    """One MQTT message waiting for its batch to commit."""

    mid: int
    qos: int
    raw: RawMessage


@dataclass
class Stats:
    """Running totals, for logs, tests and the benchmark."""

    batches: int = 0
    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    dead: int = 0
    retries: int = 0


def pipeline_of(settings: Settings) -> Pipeline:
    """The pipeline configuration from settings."""
    return Pipeline.build(
        prefix=settings.mqtt_topic_prefix,
        max_bytes=settings.device_event_max_bytes,
        future_s=settings.device_clock_future_s,
        past_days=settings.device_clock_past_days,
        silent_after_s=settings.device_offline_after_s,
    )


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
        self.pipeline = pipeline_of(settings)
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
        self._feed_signer = live_feed_signer(settings.secret_key.get_secret_value())

    def _make_client(self) -> mqtt.Client:
        target = parse_mqtt_url(self.settings.mqtt_url or "")
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.settings.mqtt_client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if target.username:
            client.username_pw_set(target.username, target.password)
        if target.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.connect_async(target.host, target.port, keepalive=30)
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
        client.subscribe([(topics.events_filter, 1), (topics.status_filter, 1)])
        log.info("ingest connected, subscribed to %s and %s", topics.events_filter, topics.status_filter)
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
        try:
            while not self._stop.is_set():
                batch = self._collect()
                if batch:
                    self._process(batch)
                self._liveness()
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

    def _process(self, batch: list[Received]) -> None:
        outcome = self._commit_retrying([r.raw for r in batch])
        if outcome is None:
            return  # stopping while the database is away: the broker keeps the messages
        for received in batch:
            if received.qos > 0:
                self._client.ack(received.mid, received.qos)
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

    def _send_pass_material(self, device_ids: list[str]) -> None:
        """A QR reader that comes online gets the current keys and revocation list at once."""
        if not device_ids:
            return
        signer = signer_for(self.settings.pass_signing_key.get_secret_value(), self.settings.pass_key_id)
        try:
            with unit_of_work(self.sessions) as session:
                material = {
                    reader: passes_service.pass_material(session, signer=signer, reader=reader)
                    for reader in device_ids
                }
        except _TRANSIENT:
            log.warning("database unavailable; pass keys not sent to %s", device_ids)
            return
        for device_id, commands_for_reader in material.items():
            for type, payload in commands_for_reader.items():
                body = commands.build(device_id, type, payload)
                self._client.publish(self.pipeline.topics.commands(device_id), body, qos=1)

    def _commit_retrying(self, raws: list[RawMessage]) -> devices.BatchOutcome | None:
        delay = 0.2
        while True:
            try:
                return self._commit(raws)
            except _TRANSIENT as exc:
                self.stats.retries += 1
                log.warning(
                    "database unavailable (%s); retrying the batch in %.1f s", type(exc).__name__, delay
                )
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    return self._commit_one_by_one(raws)
                self.stats.retries += 1
            except Exception:
                log.exception("batch failed; processing its messages one by one")
                return self._commit_one_by_one(raws)
            if self._stop.wait(delay):
                return None
            delay = min(delay * 2, 2.0)

    def _commit(self, raws: list[RawMessage]) -> devices.BatchOutcome:
        system = Principal.system()
        with self._transaction() as session:
            outcome = devices.accept_batch(session, actor=system, messages=raws, pipeline=self.pipeline)
            handlers.dispatch(session, outcome, public_keys=self.public_keys)
        return outcome

    def _commit_one_by_one(self, raws: list[RawMessage]) -> devices.BatchOutcome:
        """Isolate the message a handler cannot take, so the rest of the batch still lands."""
        total = devices.BatchOutcome()
        for raw in raws:
            try:
                outcome = self._commit([raw])
            except _TRANSIENT:
                raise
            except Exception as exc:
                log.exception("message on %s refused by a handler", raw.topic)
                with self._transaction() as session:
                    outcome = devices.park(
                        session,
                        actor=Principal.system(),
                        message=raw,
                        rejection=Rejected("handler_error", f"{type(exc).__name__}: {exc}"[:500]),
                    )
            total.accepted.extend(outcome.accepted)
            total.duplicates += outcome.duplicates
            total.dead.update(outcome.dead)
        return total

    def _liveness(self) -> None:
        """Once a second: raise `device_offline` for devices whose silence fell due."""
        if time.monotonic() < self._next_liveness:
            return
        self._next_liveness = time.monotonic() + 1.0
        try:
            with self._transaction() as session:
                handlers.check_liveness(session, now=utcnow())
        except _TRANSIENT:
            log.warning("database unavailable; liveness check postponed")
