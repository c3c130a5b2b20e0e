"""Use cases of evidence snapshots: take them in from the broker, keep disk use bounded, show them.

A device publishes the JPEG behind a count or an alarm on `…/devices/{id}/snapshots/{snapshot id}`
and names that id in the event. The ingest stores the file and a row in the same transaction as the
batch, so the broker's PUBACK (sent after commit) means the evidence is on disk and findable.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import cv2
import numpy as np
from sqlalchemy import delete, func, select, tuple_
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from jiayuan.db.base import table_of
from jiayuan.db.bulk import insert_rows
from jiayuan.devices import policies
from jiayuan.devices import service as devices
from jiayuan.devices.decode import Rejected
from jiayuan.devices.models import DeviceSnapshot
from jiayuan.devices.protocol import SNAPSHOT_ID_PATTERN, SNAPSHOT_MAX_BYTES, Topics
from jiayuan.devices.service import BatchOutcome, Pipeline, RawMessage
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import NotFound
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory
from jiayuan.registry.service.directory import DeviceInfo

_SAFE_ID = re.compile(SNAPSHOT_ID_PATTERN)
_SAFE_DEVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Decoding a picture this large even at 1/8 scale costs more than evidence is worth; cameras send ≤ 8 MP.
MAX_PIXELS = 40_000_000
# SOF markers (baseline, progressive, lossless, arithmetic) carry the picture's height and width.
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_CHUNK = 500


@dataclass(frozen=True)
class Retention:
    """How much evidence is kept: days, total bytes, and how old a file without a row must be to go."""

    days: int
    max_bytes: int
    orphan_grace: timedelta = timedelta(minutes=10)


@dataclass
class PruneResult:
    """What one pruning pass removed and what is left."""

    expired: int = 0
    over_budget: int = 0
    orphans: int = 0
    kept: int = 0
    kept_bytes: int = 0


def accept_messages(
    session: Session,
    *,
    actor: Principal,
    messages: Sequence[RawMessage],
    pipeline: Pipeline,
    files: SnapshotFiles,
    now: datetime | None = None,
) -> BatchOutcome:
    """A batch from the broker: snapshots are stored here, events and status by the device service."""
    shots = [m for m in messages if pipeline.topics.parse_snapshot(m.topic) is not None]
    if not shots:
        return devices.accept_batch(session, actor=actor, messages=messages, pipeline=pipeline, now=now)
    others = [m for m in messages if pipeline.topics.parse_snapshot(m.topic) is None]
    outcome = (
        devices.accept_batch(session, actor=actor, messages=others, pipeline=pipeline, now=now)
        if others
        else BatchOutcome()
    )
    parked = accept_snapshots(session, actor=actor, messages=shots, topics=pipeline.topics, files=files)
    outcome.dead.update(parked.dead)
    outcome.rejections.extend(parked.rejections)
    return outcome


def accept_snapshots(
    session: Session,
    *,
    actor: Principal,
    messages: Sequence[RawMessage],
    topics: Topics,
    files: SnapshotFiles,
) -> BatchOutcome:
    """Check and store snapshot messages; a refused one becomes a dead letter, a resent one is a no-op.

    The row is inserted first and the file written only for a new row, so evidence already stored is
    never overwritten, not even by a different picture sent under the same id.
    """
    parsed = [(m, topics.parse_snapshot(m.topic) or ("", "")) for m in messages]
    for _, (device_id, _) in parsed:
        policies.require_can_publish(actor, device_id)
    known = directory.devices_by_ids(session, {d for _, (d, _) in parsed if _SAFE_DEVICE.match(d)})
    dead: list[tuple[RawMessage, Rejected]] = []
    fresh: dict[tuple[str, str], tuple[RawMessage, DeviceInfo, str]] = {}
    for message, (device_id, snapshot_id) in parsed:
        rejection = _check(message, device_id, snapshot_id, known.get(device_id))
        if rejection is not None:
            dead.append((message, rejection))
            continue
        digest = hashlib.sha256(message.payload).hexdigest()
        earlier = fresh.get((device_id, snapshot_id))
        if earlier is None:
            fresh[(device_id, snapshot_id)] = (message, known[device_id], digest)
        elif earlier[2] != digest:
            dead.append((message, _reused(device_id, snapshot_id)))

    for device_id, snapshot_id, stored_digest in _stored(session, list(fresh)):
        message, _, digest = fresh.pop((device_id, snapshot_id))
        if digest != stored_digest:
            dead.append((message, _reused(device_id, snapshot_id)))

    rows = [
        {
            "device_id": device.id,
            "snapshot_id": snapshot_id,
            "received_at": message.received_at,
            "community_id": device.community_id,
            "compound_id": device.compound_id,
            "gate_id": device.gate_id,
            "size": len(message.payload),
            "sha256": digest,
            "path": files.relative_path(device.id, snapshot_id, message.received_at),
        }
        for (_, snapshot_id), (message, device, digest) in fresh.items()
    ]
    inserted = insert_rows(
        session,
        table_of(DeviceSnapshot),
        rows,
        ignore_conflicts_on=("device_id", "snapshot_id"),
        returning=("device_id", "snapshot_id", "path"),
    )
    for row in inserted:  # a row another ingest process inserted meanwhile is its file to write
        files.write(row.path, fresh[(row.device_id, row.snapshot_id)][0].payload)

    outcome = BatchOutcome()
    for message, rejection in dead:
        parked = devices.park(session, actor=actor, message=message, rejection=rejection)
        outcome.dead.update(parked.dead)
        outcome.rejections.extend(parked.rejections)
    return outcome


def _check(
    message: RawMessage, device_id: str, snapshot_id: str, device: DeviceInfo | None
) -> Rejected | None:
    """Why a snapshot message is refused, or None when it may be stored."""
    size = message.raw_size
    claimed = device_id[:64] or None
    if size > SNAPSHOT_MAX_BYTES:
        return Rejected("too_large", f"snapshot {size} bytes > {SNAPSHOT_MAX_BYTES}", claimed)
    if not _SAFE_ID.match(snapshot_id):
        return Rejected(
            "bad_snapshot",
            f"snapshot id {snapshot_id[:80]!r} must be 1-64 letters, digits, _ or - "
            "(快照编号只能由字母、数字、下划线和连字符组成)",
            claimed,
        )
    if device is None:
        return Rejected("unknown_device", f"device {device_id[:64]} is not registered", claimed)
    if not device.enabled:
        return Rejected("revoked_device", f"device {device_id} is disabled", claimed)
    problem = jpeg_problem(message.payload)
    if problem is not None:
        return Rejected("bad_snapshot", problem, claimed)
    return None


def _reused(device_id: str, snapshot_id: str) -> Rejected:
    return Rejected(
        "bad_snapshot",
        f"snapshot id {snapshot_id} already holds a different picture (同一快照编号已存有另一张图片)",
        device_id,
    )


def _stored(session: Session, keys: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """`(device, snapshot id, sha256)` of the keys already stored."""
    found: list[tuple[str, str, str]] = []
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        found.extend(
            (d, s, h)
            for d, s, h in session.execute(
                select(DeviceSnapshot.device_id, DeviceSnapshot.snapshot_id, DeviceSnapshot.sha256).where(
                    tuple_(DeviceSnapshot.device_id, DeviceSnapshot.snapshot_id).in_(chunk)
                )
            )
        )
    return found


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """`(width, height)` from a JPEG's frame header, without decoding; None when there is none."""
    if not data.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _SOF:
            if at + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        if marker in (0xD9, 0xDA) or length < 2:  # end, or scan data before any frame header
            return None
        at += 2 + length
    return None


def jpeg_problem(data: bytes) -> str | None:
    """Why `data` is not a usable JPEG picture, or None: markers, size, and a decode at 1/8 scale."""
    if not data.startswith(b"\xff\xd8\xff"):
        return "not a JPEG: it does not start with FF D8 FF (不是 JPEG 图片)"
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return "JPEG is cut short: no FF D9 end marker (JPEG 图片不完整)"
    size = jpeg_size(data)
    if size is None or size[0] == 0 or size[1] == 0:
        return "JPEG has no frame header with its size (JPEG 图片缺少尺寸信息)"
    if size[0] * size[1] > MAX_PIXELS:
        return f"JPEG of {size[0]}x{size[1]} pixels is over {MAX_PIXELS} (图片像素过多)"
    if cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8) is None:
        return "JPEG does not decode (JPEG 图片无法解码)"
    return None


def snapshot_image(
    session: Session, *, actor: Principal, files: SnapshotFiles, device_id: str, snapshot_id: str
) -> bytes:
    """A stored snapshot's JPEG for someone whose scope covers the gate where it was taken.

    Out of scope, never stored, pruned or lost on disk all answer alike, so an id reveals nothing.
    """
    policies.require_can_view_cameras(actor)
    missing = NotFound(
        f"没有设备 {device_id} 编号为 {snapshot_id} 的抓拍图片（或已过保存期）", field="snapshot_id"
    )
    row = session.execute(
        select(DeviceSnapshot.community_id, DeviceSnapshot.compound_id, DeviceSnapshot.path).where(
            DeviceSnapshot.device_id == device_id, DeviceSnapshot.snapshot_id == snapshot_id
        )
    ).first()
    if row is None or not policies.snapshot_visible(
        actor, community_id=row.community_id, compound_id=row.compound_id
    ):
        raise missing
    data = files.read(row.path)
    if data is None:
        raise missing
    return data


def prune(
    session: Session,
    *,
    actor: Principal,
    files: SnapshotFiles,
    retention: Retention,
    now: datetime | None = None,
) -> PruneResult:
    """Remove snapshots older than the retention, then the oldest beyond the byte budget, then files
    that no row names (a write whose batch never committed).

    Rows go in this transaction; their files are deleted once it has committed, so a failed commit
    leaves every row's file in place.
    """
    policies.require_can_publish(actor, "")
    now = now or utcnow()
    result = PruneResult()
    cutoff = now - timedelta(days=retention.days)
    expired = session.execute(
        select(DeviceSnapshot.id, DeviceSnapshot.path).where(DeviceSnapshot.received_at < cutoff)
    ).all()
    result.expired = len(expired)
    victims = [(r.id, r.path) for r in expired]

    total, count = session.execute(
        select(func.coalesce(func.sum(DeviceSnapshot.size), 0), func.count()).where(
            DeviceSnapshot.received_at >= cutoff
        )
    ).one()
    total, count = int(total), int(count)
    if total > retention.max_bytes:
        oldest = session.execute(
            select(DeviceSnapshot.id, DeviceSnapshot.path, DeviceSnapshot.size)
            .where(DeviceSnapshot.received_at >= cutoff)
            .order_by(DeviceSnapshot.received_at, DeviceSnapshot.id)
            .execution_options(yield_per=_CHUNK)
        )
        for row in oldest:
            if total <= retention.max_bytes:
                break
            victims.append((row.id, row.path))
            total -= row.size
            count -= 1
            result.over_budget += 1
        oldest.close()
    result.kept, result.kept_bytes = count, total

    ids = [i for i, _ in victims]
    for start in range(0, len(ids), _CHUNK):
        session.execute(delete(DeviceSnapshot).where(DeviceSnapshot.id.in_(ids[start : start + _CHUNK])))
    doomed = [p for _, p in victims]
    if doomed:
        sa_event.listen(session, "after_commit", lambda _s: files.delete(doomed), once=True)

    result.orphans = _remove_orphans(session, files, retention, now, excluded=set(doomed))
    return result


def _remove_orphans(
    session: Session, files: SnapshotFiles, retention: Retention, now: datetime, *, excluded: set[str]
) -> int:
    """Delete files older than the grace period that no row names; newer ones may be mid-commit."""
    limit = (now - retention.orphan_grace).timestamp()
    candidates = [f.relative for f in files.files() if f.mtime < limit and f.relative not in excluded]
    known: set[str] = set()
    for start in range(0, len(candidates), _CHUNK):
        chunk = candidates[start : start + _CHUNK]
        known.update(session.scalars(select(DeviceSnapshot.path).where(DeviceSnapshot.path.in_(chunk))))
    orphans = [c for c in candidates if c not in known]
    removed = files.delete(orphans)
    files.remove_stale_temporaries(retention.orphan_grace.total_seconds())
    return removed
