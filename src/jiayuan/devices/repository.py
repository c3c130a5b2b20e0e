"""Queries of the devices domain: the event inbox, device status rows, dead letters, evidence snapshots
and the sealed broker passwords. Only the devices services call these."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, func, select, tuple_, update
from sqlalchemy.orm import Session

from jiayuan.db.base import table_of
from jiayuan.db.bulk import insert_rows
from jiayuan.devices.models import BrokerCredential, DeadLetter, DeviceEvent, DeviceSnapshot, DeviceStatus

# Keys per query when reading rows back by key.
CHUNK = 500


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


# ---------------------------------------------------------------- events


def insert_events(session: Session, rows: Sequence[dict[str, Any]]) -> Sequence[Row[Any]]:
    """Insert events, skipping `(device, id)` keys already stored; `(id, device_id, event_id)` of new rows."""
    return insert_rows(
        session,
        table_of(DeviceEvent),
        list(rows),
        ignore_conflicts_on=("device_id", "event_id"),
        returning=("id", "device_id", "event_id"),
    )


def stored_events(session: Session, keys: Sequence[tuple[str, str]]) -> list[Row[Any]]:
    """`(device_id, event_id, type, ts, seq, payload)` of the stored events among these keys."""
    found: list[Row[Any]] = []
    for chunk in _chunks(keys):
        found.extend(
            session.execute(
                select(
                    DeviceEvent.device_id,
                    DeviceEvent.event_id,
                    DeviceEvent.type,
                    DeviceEvent.ts,
                    DeviceEvent.seq,
                    DeviceEvent.payload,
                ).where(tuple_(DeviceEvent.device_id, DeviceEvent.event_id).in_(chunk))
            )
        )
    return found


# ---------------------------------------------------------------- device status


def _new_status(device_id: str) -> dict[str, object]:
    """The status row of a device heard from for the first time."""
    counters = dict.fromkeys(("events_accepted", "duplicates", "dead_letters"), 0)
    return {"device_id": device_id, "state": "unknown", **counters}


def lock_statuses(session: Session, device_ids: Sequence[str]) -> dict[str, DeviceStatus]:
    """The status rows of these devices, created when missing and locked for this transaction (in id
    order, so two batches never wait on each other in a circle)."""
    if not device_ids:
        return {}
    insert_rows(
        session,
        table_of(DeviceStatus),
        [_new_status(d) for d in device_ids],
        ignore_conflicts_on=("device_id",),
    )
    rows = session.scalars(
        select(DeviceStatus)
        .where(DeviceStatus.device_id.in_(device_ids))
        .order_by(DeviceStatus.device_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {row.device_id: row for row in rows}


def count_dead_letter(session: Session, device_id: str) -> None:
    """One more dead letter in the device's counter (its status row is created when missing)."""
    insert_rows(session, table_of(DeviceStatus), [_new_status(device_id)], ignore_conflicts_on=("device_id",))
    session.execute(
        update(DeviceStatus)
        .where(DeviceStatus.device_id == device_id)
        .values(dead_letters=DeviceStatus.dead_letters + 1)
    )


def silent_due(session: Session, now: datetime) -> Sequence[DeviceStatus]:
    """Status rows whose silence is due and not yet marked, locked; rows another process holds are
    skipped, so each silence is claimed once."""
    return session.scalars(
        select(DeviceStatus)
        .where(DeviceStatus.silent_due_at <= now, DeviceStatus.silent.is_(False))
        .order_by(DeviceStatus.device_id)
        .with_for_update(skip_locked=True)
    ).all()


def next_silence_due(session: Session) -> datetime | None:
    """The earliest time a device not yet silent falls silent if nothing is heard."""
    return session.scalar(select(func.min(DeviceStatus.silent_due_at)).where(DeviceStatus.silent.is_(False)))


def statuses(session: Session, device_ids: Iterable[str]) -> dict[str, DeviceStatus]:
    """The status rows of these devices (a device never heard from has none)."""
    wanted = sorted(set(device_ids))
    found: dict[str, DeviceStatus] = {}
    for chunk in _chunks(wanted):
        found.update(
            (r.device_id, r)
            for r in session.scalars(select(DeviceStatus).where(DeviceStatus.device_id.in_(chunk)))
        )
    return found


# ---------------------------------------------------------------- dead letters


def add_dead_letter(session: Session, letter: DeadLetter) -> None:
    """Keep one refused message."""
    session.add(letter)


def dead_letter_counts(session: Session) -> list[tuple[str | None, str, int]]:
    """`(device_id, reason, count)` over every dead letter, ordered."""
    rows = session.execute(
        select(DeadLetter.device_id, DeadLetter.reason, func.count())
        .group_by(DeadLetter.device_id, DeadLetter.reason)
        .order_by(DeadLetter.device_id, DeadLetter.reason)
    ).all()
    return [(d, reason, n) for d, reason, n in rows]


def dead_letters(
    session: Session, *, device_id: str | None, reason: str | None, limit: int, before_id: int | None
) -> list[DeadLetter]:
    """The newest dead letters, optionally of one device or reason, older than `before_id` when given."""
    query = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
    if device_id is not None:
        query = query.where(DeadLetter.device_id == device_id)
    if reason is not None:
        query = query.where(DeadLetter.reason == reason)
    if before_id is not None:
        query = query.where(DeadLetter.id < before_id)
    return list(session.scalars(query))


# ---------------------------------------------------------------- evidence snapshots


def stored_snapshots(session: Session, keys: Sequence[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """`(device, snapshot id, sha256)` of the keys already stored."""
    found: list[tuple[str, str, str]] = []
    for chunk in _chunks(keys):
        found.extend(
            (d, s, h)
            for d, s, h in session.execute(
                select(DeviceSnapshot.device_id, DeviceSnapshot.snapshot_id, DeviceSnapshot.sha256).where(
                    tuple_(DeviceSnapshot.device_id, DeviceSnapshot.snapshot_id).in_(chunk)
                )
            )
        )
    return found


def insert_snapshots(session: Session, rows: Sequence[dict[str, Any]]) -> Sequence[Row[Any]]:
    """Insert snapshot rows, skipping keys already stored; `(device_id, snapshot_id, path)` of new rows."""
    return insert_rows(
        session,
        table_of(DeviceSnapshot),
        list(rows),
        ignore_conflicts_on=("device_id", "snapshot_id"),
        returning=("device_id", "snapshot_id", "path"),
    )


def snapshot_place(
    session: Session, device_id: str, snapshot_id: str
) -> tuple[int | None, int | None, str] | None:
    """`(community_id, compound_id, path)` of one stored snapshot."""
    row = session.execute(
        select(DeviceSnapshot.community_id, DeviceSnapshot.compound_id, DeviceSnapshot.path).where(
            DeviceSnapshot.device_id == device_id, DeviceSnapshot.snapshot_id == snapshot_id
        )
    ).first()
    return None if row is None else (row.community_id, row.compound_id, row.path)


def newest_snapshot(session: Session, device_id: str) -> tuple[datetime, str] | None:
    """`(received_at, path)` of the newest stored snapshot of one device."""
    row = session.execute(
        select(DeviceSnapshot.received_at, DeviceSnapshot.path)
        .where(DeviceSnapshot.device_id == device_id)
        .order_by(DeviceSnapshot.received_at.desc(), DeviceSnapshot.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (row.received_at, row.path)


def snapshots_before(session: Session, cutoff: datetime) -> list[tuple[int, str]]:
    """`(id, path)` of the snapshots received before the cutoff."""
    rows = session.execute(
        select(DeviceSnapshot.id, DeviceSnapshot.path).where(DeviceSnapshot.received_at < cutoff)
    ).all()
    return [(r.id, r.path) for r in rows]


def snapshot_totals_since(session: Session, cutoff: datetime) -> tuple[int, int]:
    """`(bytes, count)` of the snapshots received since the cutoff."""
    total, count = session.execute(
        select(func.coalesce(func.sum(DeviceSnapshot.size), 0), func.count()).where(
            DeviceSnapshot.received_at >= cutoff
        )
    ).one()
    return int(total), int(count)


def oldest_snapshots_since(session: Session, cutoff: datetime) -> Iterator[tuple[int, str, int]]:
    """`(id, path, size)` of the snapshots since the cutoff, oldest first, streamed."""
    result = session.execute(
        select(DeviceSnapshot.id, DeviceSnapshot.path, DeviceSnapshot.size)
        .where(DeviceSnapshot.received_at >= cutoff)
        .order_by(DeviceSnapshot.received_at, DeviceSnapshot.id)
        .execution_options(yield_per=CHUNK)
    )
    try:
        for row in result:
            yield row.id, row.path, row.size
    finally:
        result.close()


def delete_snapshots(session: Session, ids: Sequence[int]) -> None:
    """Remove these snapshot rows."""
    for chunk in _chunks(ids):
        session.execute(delete(DeviceSnapshot).where(DeviceSnapshot.id.in_(chunk)))


def known_snapshot_paths(session: Session, paths: Sequence[str]) -> set[str]:
    """The paths among these that a snapshot row names."""
    known: set[str] = set()
    for chunk in _chunks(paths):
        known.update(session.scalars(select(DeviceSnapshot.path).where(DeviceSnapshot.path.in_(chunk))))
    return known


# ---------------------------------------------------------------- broker passwords


def add_credential(session: Session, *, token_id: int, device_id: str, sealed: str) -> None:
    """Keep a device token sealed for the broker."""
    session.add(BrokerCredential(token_id=token_id, device_id=device_id, sealed=sealed))


def credential_device_ids(session: Session) -> set[str]:
    """Every device holding a sealed token."""
    return set(session.scalars(select(BrokerCredential.device_id).distinct()))


def credentials_of(session: Session, device_id: str) -> Sequence[BrokerCredential]:
    """The sealed tokens of one device."""
    return session.scalars(select(BrokerCredential).where(BrokerCredential.device_id == device_id)).all()


def delete_credentials(session: Session, device_id: str, token_ids: Sequence[int]) -> None:
    """Forget the sealed copies of these tokens of a device."""
    session.execute(
        delete(BrokerCredential).where(
            BrokerCredential.device_id == device_id, BrokerCredential.token_id.in_(token_ids)
        )
    )


def nearest_snapshot_at_gate(
    session: Session, gate_id: int, at: datetime, *, before: timedelta, after: timedelta
) -> tuple[str, str] | None:
    """(device id, snapshot id) of the snapshot stored at a gate nearest to `at` within the window."""
    window = (DeviceSnapshot.gate_id == gate_id) & DeviceSnapshot.received_at.between(at - before, at + after)
    found = [
        session.execute(
            select(DeviceSnapshot.device_id, DeviceSnapshot.snapshot_id, DeviceSnapshot.received_at)
            .where(window, DeviceSnapshot.received_at <= at)
            .order_by(DeviceSnapshot.received_at.desc())
            .limit(1)
        ).first(),
        session.execute(
            select(DeviceSnapshot.device_id, DeviceSnapshot.snapshot_id, DeviceSnapshot.received_at)
            .where(window, DeviceSnapshot.received_at > at)
            .order_by(DeviceSnapshot.received_at)
            .limit(1)
        ).first(),
    ]
    rows = [row for row in found if row is not None]
    if not rows:
        return None
    device_id, snapshot_id, _ = min(rows, key=lambda row: abs(row[2] - at))
    return device_id, snapshot_id
