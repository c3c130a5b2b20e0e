"""The ingest pipeline: check, de-duplicate and store raw device messages; refused ones become dead
letters; devices that fall silent are marked so."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from pydantic import BaseModel
from sqlalchemy.orm import Session

from jiayuan.bus.bus import publish_on_commit
from jiayuan.devices import policies, repository
from jiayuan.devices.decode import Event, Limits, Rejected, Status, decode, decode_event
from jiayuan.devices.events import DeadLettered, DeviceEventStored, DeviceStateChanged
from jiayuan.devices.models import DeadLetter, DeviceStatus
from jiayuan.devices.protocol import Envelope, Heartbeat, Topics
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory
from jiayuan.registry.service.directory import DeviceInfo

RAW_KEPT = 4096


@dataclass(frozen=True)
class RawMessage:
    """Bytes as they arrived, with where and when."""

    channel: str
    topic: str
    payload: bytes
    received_at: datetime
    size: int | None = None

    @property
    def raw_size(self) -> int:
        """The size as received (the payload may have been cut short while reading)."""
        return len(self.payload) if self.size is None else self.size


@dataclass(frozen=True)
class Accepted:
    """An event stored for the first time, ready for the domain handlers."""

    row_id: int
    device: DeviceInfo
    envelope: Envelope
    payload: BaseModel


@dataclass
class BatchOutcome:
    """What one batch did: accepted events, duplicates, dead letters, status changes."""

    accepted: list[Accepted] = field(default_factory=list)
    duplicates: int = 0
    dead: Counter[str] = field(default_factory=Counter)
    statuses: int = 0
    came_back: list[DeviceInfo] = field(default_factory=list)
    came_online: list[DeviceInfo] = field(default_factory=list)
    rejections: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True)
class Pipeline:
    """The pipeline's configuration: topic scheme, limits, how long silence is allowed."""

    topics: Topics = field(default_factory=Topics)
    limits: Limits = field(default_factory=Limits)
    silent_after: timedelta = timedelta(minutes=2)

    @classmethod
    def build(
        cls, *, prefix: str, max_bytes: int, future_s: int, past_days: int, silent_after_s: int
    ) -> Pipeline:
        """The pipeline from plain configuration values (entry points pass their settings)."""
        return cls(
            topics=Topics(prefix),
            limits=Limits(
                max_bytes=max_bytes, future=timedelta(seconds=future_s), past=timedelta(days=past_days)
            ),
            silent_after=timedelta(seconds=silent_after_s),
        )


def accept_batch(
    session: Session,
    *,
    actor: Principal,
    messages: Sequence[RawMessage],
    pipeline: Pipeline,
    now: datetime | None = None,
) -> BatchOutcome:
    """Check, de-duplicate and store a batch of MQTT messages; refused ones become dead letters."""
    now = now or utcnow()
    decoded = [
        (m, decode(m.topic, m.payload, topics=pipeline.topics, now=now, limits=pipeline.limits))
        for m in messages
    ]
    for message, _ in decoded:
        parsed = pipeline.topics.parse(message.topic)
        policies.require_can_publish(actor, parsed[0] if parsed else "")
    return _store(session, decoded, pipeline=pipeline, now=now)


def accept_http(
    session: Session,
    *,
    actor: Principal,
    device_id: str,
    body: bytes,
    pipeline: Pipeline,
    size: int | None = None,
    now: datetime | None = None,
) -> BatchOutcome:
    """Check and store one event pushed over HTTP by the device itself (`size` if `body` was cut short)."""
    policies.require_can_publish(actor, device_id)
    now = now or utcnow()
    message = RawMessage("http", f"POST /api/v1/devices/{device_id}/events", body, now, size)
    result = decode_event(body, now=now, limits=pipeline.limits, topic_device=device_id, size=size)
    return _store(session, [(message, result)], pipeline=pipeline, now=now)


def _device_of(result: Event | Status | Rejected) -> str | None:
    if isinstance(result, Event):
        return result.envelope.device
    return result.device_id


def _store(
    session: Session,
    decoded: Sequence[tuple[RawMessage, Event | Status | Rejected]],
    *,
    pipeline: Pipeline,
    now: datetime,
) -> BatchOutcome:
    outcome = BatchOutcome()
    known = directory.devices_by_ids(session, {d for _, r in decoded if (d := _device_of(r)) is not None})
    dead: list[tuple[RawMessage, Rejected]] = []
    events: dict[tuple[str, str], tuple[RawMessage, Event]] = {}
    statuses: list[tuple[RawMessage, Status]] = []
    duplicates_per_device: Counter[str] = Counter()
    for message, result in decoded:
        if isinstance(result, Rejected):
            dead.append((message, result))
            continue
        device_id = _device_of(result) or ""
        device = known.get(device_id)
        if device is None:
            dead.append(
                (message, Rejected("unknown_device", f"device {device_id} is not registered", device_id))
            )
        elif not device.enabled:
            dead.append((message, Rejected("revoked_device", f"device {device_id} is disabled", device_id)))
        elif isinstance(result, Status):
            statuses.append((message, result))
        else:
            key = (device_id, result.envelope.id)
            first = events.get(key)
            if first is None:
                events[key] = (message, result)
            elif _Content.of(first[1].envelope) == _Content.of(result.envelope):
                duplicates_per_device[device_id] += 1
            else:  # the first of the batch wins, as the stored one does across batches
                dead.append((message, _id_conflict(_Content.of(first[1].envelope), result.envelope)))

    dead_known = {r.device_id for _, r in dead if r.device_id in known}
    touched = sorted({d for d, _ in events} | {s.device_id for _, s in statuses} | dead_known)
    status_rows = repository.lock_statuses(session, touched)

    inserted = repository.insert_events(
        session,
        [
            {
                "device_id": event.envelope.device,
                "event_id": event.envelope.id,
                "type": event.envelope.type,
                "ts": event.envelope.ts,
                "received_at": message.received_at,
                "seq": event.envelope.seq,
                "gate_id": known[event.envelope.device].gate_id,
                "community_id": known[event.envelope.device].community_id,
                "payload": event.envelope.payload,
            }
            for message, event in events.values()
        ],
    )
    new_keys = {(row.device_id, row.event_id): row.id for row in inserted}
    collided = [key for key in events if key not in new_keys]
    for key, stored in _stored_content(session, collided).items():
        message, event = events[key]
        if stored == _Content.of(event.envelope):
            duplicates_per_device[key[0]] += 1
        else:
            dead.append((message, _id_conflict(stored, event.envelope)))
    outcome.duplicates = sum(duplicates_per_device.values())

    accepted_per_device: Counter[str] = Counter()
    for (device_id, event_id), (_message, event) in events.items():
        row_id = new_keys.get((device_id, event_id))
        if row_id is None:
            continue
        accepted_per_device[device_id] += 1
        device = known[device_id]
        outcome.accepted.append(Accepted(row_id, device, event.envelope, event.payload))
        publish_on_commit(
            session,
            DeviceEventStored(
                community_id=device.community_id,
                device_id=device_id,
                event_id=event_id,
                type=event.envelope.type,
                ts=event.envelope.ts,
                gate_id=device.gate_id,
                payload=event.envelope.payload,
            ),
        )

    dead_per_device = Counter(r.device_id for _, r in dead if r.device_id in known)
    _park(session, dead, known)
    for _, rejection in dead:
        outcome.dead[rejection.reason] += 1
        outcome.rejections.append(rejection)

    for device_id in touched:
        row = status_rows[device_id]
        row.events_accepted += accepted_per_device[device_id]
        row.duplicates += duplicates_per_device[device_id]
        row.dead_letters += dead_per_device[device_id]
    for device_id, latest in _latest_per_device(events.values()).items():
        row = status_rows[device_id]
        if row.silent:
            row.silent = False
            outcome.came_back.append(known[device_id])
            publish_on_commit(session, _state_event(known[device_id], "back"))
        _seen(row, latest.received_at, pipeline)
        if latest.seq is not None:
            row.last_seq = latest.seq
        if latest.heartbeat is not None:
            row.last_heartbeat_at, row.fw = latest.heartbeat
    for message, status in statuses:
        row = status_rows[status.device_id]
        outcome.statuses += 1
        if row.state_at is not None and status.message.ts < row.state_at:
            continue  # an older retained message replayed after a newer one
        row.state = status.message.state
        row.state_at = status.message.ts
        # Health belongs to a running device: an offline message (the last will) clears it.
        online = status.message.state == "online"
        row.health = status.message.health if online else None
        degraded = online and status.message.health == "degraded"
        row.health_reasons = [r.model_dump() for r in status.message.reasons] if degraded else None
        publish_on_commit(session, _state_event(known[status.device_id], status.message.state))
        if status.message.state == "online":
            outcome.came_online.append(known[status.device_id])
            if row.silent:
                row.silent = False
                outcome.came_back.append(known[status.device_id])
            _seen(row, message.received_at, pipeline)
    session.flush()
    return outcome


@dataclass
class _Latest:
    """What a batch says last about one device (its status row is then written once, not per event)."""

    received_at: datetime
    seq: int | None = None
    heartbeat: tuple[datetime, str | None] | None = None


def _latest_per_device(events: Iterable[tuple[RawMessage, Event]]) -> dict[str, _Latest]:
    latest: dict[str, _Latest] = {}
    for message, event in events:
        entry = latest.setdefault(event.envelope.device, _Latest(message.received_at))
        entry.received_at = max(entry.received_at, message.received_at)
        if event.envelope.seq is not None:
            entry.seq = event.envelope.seq
        if isinstance(event.payload, Heartbeat):
            entry.heartbeat = (message.received_at, event.payload.fw)
    return latest


class _Content(NamedTuple):
    """What an event says; two messages with the same `(device, id)` must say the same."""

    type: str
    ts: datetime
    seq: int | None
    payload: dict[str, Any]

    @classmethod
    def of(cls, envelope: Envelope) -> _Content:
        """The content of an envelope."""
        return cls(envelope.type, envelope.ts, envelope.seq, envelope.payload)


def _stored_content(session: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], _Content]:
    """The stored content of these `(device, id)` keys (only collided keys are read back)."""
    return {
        (row.device_id, row.event_id): _Content(row.type, row.ts, row.seq, row.payload)
        for row in repository.stored_events(session, keys)
    }


def _id_conflict(stored: _Content, new: Envelope) -> Rejected:
    """A message reusing a stored event's `(device, id)` for different content."""
    return Rejected(
        "id_conflict",
        f"id {new.id} is already stored for {stored.type} at {stored.ts.isoformat()} (seq {stored.seq}); "
        f"this {new.type} at {new.ts.isoformat()} (seq {new.seq}) differs",
        new.device,
    )


def _seen(row: DeviceStatus, at: datetime, pipeline: Pipeline) -> None:
    if row.last_seen_at is None or at > row.last_seen_at:
        row.last_seen_at = at
        row.silent_due_at = at + pipeline.silent_after


def _state_event(device: DeviceInfo, state: str) -> DeviceStateChanged:
    return DeviceStateChanged(
        community_id=device.community_id,
        device_id=device.id,
        gate_id=device.gate_id,
        compound_id=device.compound_id,
        state=state,
    )


def _park(
    session: Session, dead: Sequence[tuple[RawMessage, Rejected]], known: dict[str, DeviceInfo]
) -> None:
    for message, rejection in dead:
        repository.add_dead_letter(
            session,
            DeadLetter(
                received_at=message.received_at,
                channel=message.channel,
                topic=message.topic[:255],
                device_id=rejection.device_id[:64] if rejection.device_id else None,
                reason=rejection.reason,
                detail=rejection.detail[:500],
                raw=message.payload[:RAW_KEPT],
                raw_size=message.raw_size,
            ),
        )
        device = known.get(rejection.device_id or "")
        publish_on_commit(
            session,
            DeadLettered(
                community_id=device.community_id if device else None,
                device_id=rejection.device_id,
                reason=rejection.reason,
                detail=rejection.detail[:500],
            ),
        )


def park(session: Session, *, actor: Principal, message: RawMessage, rejection: Rejected) -> BatchOutcome:
    """Store one message as a dead letter, counted for its device when registered.

    For messages refused outside a batch: one a domain handler could not take, a refused snapshot.
    """
    policies.require_can_publish(actor, "")
    known = directory.devices_by_ids(session, [rejection.device_id] if rejection.device_id else [])
    _park(session, [(message, rejection)], known)
    device = known.get(rejection.device_id or "")
    if device is not None:
        repository.count_dead_letter(session, device.id)
    outcome = BatchOutcome()
    outcome.dead[rejection.reason] += 1
    outcome.rejections.append(rejection)
    return outcome


def claim_silent(session: Session, *, actor: Principal, now: datetime | None = None) -> list[DeviceInfo]:
    """Mark devices whose silence is due as silent (once each) and return them."""
    policies.require_can_publish(actor, "")
    now = now or utcnow()
    rows = repository.silent_due(session, now)
    infos = directory.devices_by_ids(session, [r.device_id for r in rows])
    claimed: list[DeviceInfo] = []
    for row in rows:
        row.silent = True
        device = infos.get(row.device_id)
        if device is not None:
            claimed.append(device)
            publish_on_commit(session, _state_event(device, "silent"))
    session.flush()
    return claimed


def next_silence_due(session: Session) -> datetime | None:
    """When the next device falls silent if nothing is heard (the scheduler sleeps until then)."""
    return repository.next_silence_due(session)
