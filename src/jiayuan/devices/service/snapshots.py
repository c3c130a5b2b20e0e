"""Use cases of evidence snapshots: take them in from the broker, keep disk use bounded, show them.

A device publishes the JPEG behind a count or an alarm on `…/devices/{id}/snapshots/{snapshot id}`
and names that id in the event. The ingest stores the file and a row in the same transaction as the
batch, so the broker's PUBACK (sent after commit) means the evidence is on disk and findable.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from jiayuan.devices import policies, repository
from jiayuan.devices.decode import Rejected
from jiayuan.devices.jpeg import jpeg_problem
from jiayuan.devices.protocol import SNAPSHOT_ID_PATTERN, SNAPSHOT_MAX_BYTES, Topics
from jiayuan.devices.schemas import PruneResult
from jiayuan.devices.service import cameras
from jiayuan.devices.service import pipeline as devices
from jiayuan.devices.service.pipeline import BatchOutcome, Pipeline, RawMessage
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Invalid, NotFound
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory
from jiayuan.registry.service.directory import DeviceInfo

_SAFE_ID = re.compile(SNAPSHOT_ID_PATTERN)
_SAFE_DEVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Retention:
    """How much evidence is kept: days, total bytes, and how old a file without a row must be to go."""

    days: int
    max_bytes: int
    orphan_grace: timedelta = timedelta(minutes=10)


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

    for device_id, snapshot_id, stored_digest in repository.stored_snapshots(session, list(fresh)):
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
    inserted = repository.insert_snapshots(session, rows)
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


def snapshot_image(
    session: Session, *, actor: Principal, files: SnapshotFiles, device_id: str, snapshot_id: str
) -> bytes:
    """A stored snapshot's JPEG for someone whose scope covers the gate where it was taken.

    Out of scope, never stored, pruned or lost on disk all answer alike, so an id reveals nothing.
    """
    policies.require_can_view_cameras(actor)
    missing = NotFound(
        "没有设备 {device} 编号为 {snapshot} 的抓拍图片（或已过保存期）",
        field="snapshot_id",
        device=device_id,
        snapshot=snapshot_id,
    )
    place = repository.snapshot_place(session, device_id, snapshot_id)
    if place is None:
        raise missing
    community_id, compound_id, path = place
    if not policies.snapshot_visible(actor, community_id=community_id, compound_id=compound_id):
        raise missing
    data = files.read(path)
    if data is None:
        raise missing
    return data


def keep_picture(
    session: Session, *, actor: Principal, files: SnapshotFiles, device_id: str, jpeg: bytes, at: datetime
) -> str:
    """Keep a picture the platform took from a camera's live view (a patrol's evidence) beside the
    device's own snapshots, under the same scope and retention; returns its snapshot id. The file is
    written after the row is inserted, as for device snapshots."""
    camera = cameras.camera_for(session, actor=actor, device_id=device_id)
    problem = jpeg_problem(jpeg)
    if problem is not None:
        raise Invalid("画面不是有效的 JPEG 图片：{problem}", field="snapshot", problem=problem)
    snapshot_id = f"p{at:%Y%m%d%H%M%S}-{hashlib.sha256(jpeg).hexdigest()[:12]}"
    path = files.relative_path(camera.id, snapshot_id, at)
    row = {
        "device_id": camera.id, "snapshot_id": snapshot_id, "received_at": at,
        "community_id": camera.community_id, "compound_id": camera.compound_id, "gate_id": camera.gate_id,
        "size": len(jpeg), "sha256": hashlib.sha256(jpeg).hexdigest(), "path": path,
    }  # fmt: skip
    if repository.insert_snapshots(session, [row]):
        files.write(path, jpeg)
    return snapshot_id


# How far from an alarm a gate's snapshot still shows what happened.
NEAREST_BEFORE = timedelta(minutes=2)
NEAREST_AFTER = timedelta(seconds=30)


def nearest_at_gate(
    session: Session, *, actor: Principal, gate_id: int, at: datetime
) -> tuple[str, str] | None:
    """(device id, snapshot id) of the picture stored at a gate nearest the moment of an alarm (from two
    minutes before to half a minute after), for the case the platform opens from it."""
    policies.require_system(actor)
    return repository.nearest_snapshot_at_gate(
        session, gate_id, at, before=NEAREST_BEFORE, after=NEAREST_AFTER
    )


def newest_image(
    session: Session, *, actor: Principal, files: SnapshotFiles, device_id: str
) -> tuple[bytes, datetime] | None:
    """The newest evidence picture a camera stored, and when it arrived: what a plate camera (which
    sends no live frames) shows on the camera pages. None when it has none on disk; a camera out of
    the actor's scope reads as unknown."""
    camera = cameras.camera_for(session, actor=actor, device_id=device_id)
    found = repository.newest_snapshot(session, camera.id)
    data = files.read(found[1]) if found else None
    return None if found is None or data is None else (data, found[0])


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
    victims = repository.snapshots_before(session, cutoff)
    result.expired = len(victims)

    total, count = repository.snapshot_totals_since(session, cutoff)
    if total > retention.max_bytes:
        for snapshot_id, path, size in repository.oldest_snapshots_since(session, cutoff):
            if total <= retention.max_bytes:
                break
            victims.append((snapshot_id, path))
            total -= size
            count -= 1
            result.over_budget += 1
    result.kept, result.kept_bytes = count, total

    repository.delete_snapshots(session, [i for i, _ in victims])
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
    known = repository.known_snapshot_paths(session, candidates)
    orphans = [c for c in candidates if c not in known]
    removed = files.delete(orphans)
    files.remove_stale_temporaries(retention.orphan_grace.total_seconds())
    return removed
