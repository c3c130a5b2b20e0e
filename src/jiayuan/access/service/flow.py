"""Flow counters in 5-minute buckets per gate, and the rule on them: camera counts far above scans
(tailgating).

Counts are gathered on the session while a batch is handled and written once per gate and bucket
(`flush`), each as an atomic `SET n = n + k`, so several ingest processes may share a bucket.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from jiayuan.access import repository
from jiayuan.access.events import FlowChanged
from jiayuan.access.models import FLOW_BUCKET, FLOW_COUNTERS, FlowBucket, bucket_of
from jiayuan.access.schemas import GateRef
from jiayuan.access.service import alarms
from jiayuan.bus.bus import publish_on_commit
from jiayuan.db.base import table_of
from jiayuan.db.bulk import insert_rows
from jiayuan.devices.protocol import LineCross
from jiayuan.registry.service.directory import DeviceInfo

# "Far above": at least this many more people counted by the camera than admitted by scans in one
# bucket, and at least twice as many. Small differences are normal (children, people holding the door).
TAILGATE_MARGIN = 5
TAILGATE_RATIO = 2.0
_PENDING = "jiayuan.flow_pending"


@dataclass
class Pending:
    """Counts gathered for one gate and bucket, not yet written."""

    compound_id: int
    community_id: int
    deltas: Counter[str] = field(default_factory=Counter)


def bump(
    session: Session, *, gate_id: int, compound_id: int, community_id: int, at: datetime, **deltas: int
) -> None:
    """Add to a gate's counters in the bucket of `at` (written by `flush`, in the same transaction)."""
    unknown = set(deltas) - set(FLOW_COUNTERS)
    if unknown:
        raise ValueError(f"unknown flow counters {sorted(unknown)}")
    pending: dict[tuple[int, datetime], Pending] = session.info.setdefault(_PENDING, {})
    entry = pending.setdefault((gate_id, bucket_of(at)), Pending(compound_id, community_id))
    entry.deltas.update({k: v for k, v in deltas.items() if v})


def flush(session: Session) -> dict[tuple[int, datetime], Counter[str]]:
    """Write the gathered counts; returns what changed per (gate, bucket)."""
    pending: dict[tuple[int, datetime], Pending] = session.info.pop(_PENDING, {})
    if not pending:
        return {}
    insert_rows(
        session,
        table_of(FlowBucket),
        [
            {
                "gate_id": gate_id,
                "compound_id": p.compound_id,
                "community_id": p.community_id,
                "bucket": bucket,
            }
            | dict.fromkeys(FLOW_COUNTERS, 0)
            | {"revision": 0}
            for (gate_id, bucket), p in sorted(pending.items())
        ],
        ignore_conflicts_on=("gate_id", "bucket"),
    )
    for (gate_id, bucket), p in sorted(pending.items()):
        if not p.deltas:
            continue
        revision = session.execute(
            update(FlowBucket)
            .where(FlowBucket.gate_id == gate_id, FlowBucket.bucket == bucket)
            .values(
                {name: getattr(FlowBucket, name) + n for name, n in p.deltas.items()}
                | {"revision": FlowBucket.revision + 1}
            )
            .returning(FlowBucket.revision)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        publish_on_commit(
            session,
            FlowChanged(
                community_id=p.community_id,
                gate_id=gate_id,
                compound_id=p.compound_id,
                bucket=bucket.isoformat(),
                deltas=dict(p.deltas),
                revision=revision,
            ),
        )
    return {key: p.deltas for key, p in pending.items()}


def record_line_cross(session: Session, *, cross: LineCross, gate: GateRef, at: datetime) -> None:
    """Count people crossing the gate line (the tailgating check runs once the batch's counts are written)."""
    if cross.class_ != "person":
        return
    counter = "camera_in" if cross.direction == "in" else "camera_out"
    bump(
        session,
        gate_id=gate.id,
        compound_id=gate.compound_id,
        community_id=gate.community_id,
        at=at,
        **{counter: cross.count},
    )


def check_tailgating(session: Session, *, gate: GateRef, device: DeviceInfo, at: datetime) -> None:
    """Raise `tailgating` once per gate and bucket when the camera counted far more people in than scans."""
    bucket = bucket_of(at)
    counts = repository.camera_and_scans_in(session, gate_id=gate.id, bucket=bucket)
    if counts is None:
        return
    camera, scans = counts
    if camera < scans + TAILGATE_MARGIN or camera < scans * TAILGATE_RATIO:
        return
    if repository.alarm_in_bucket(
        session, type="tailgating", gate_id=gate.id, bucket=bucket, span=FLOW_BUCKET
    ):
        return
    alarms.raise_alarm(
        session,
        type="tailgating",
        device=device,
        at=at,
        summary=f"{gate.name} 进入人数（摄像机 {camera}）远多于扫码（{scans}），疑似尾随",
        evidence={"bucket": bucket.isoformat(), "camera_in": camera, "scans_in": scans},
    )
