"""Flow counters in 5-minute buckets per gate.

Counts are gathered on the session while a batch is handled and written once per gate and bucket
(`flush`), each as an atomic `SET n = n + k`, so several ingest processes may share a bucket.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from jiayuan.access.events import FlowChanged
from jiayuan.access.models import FlowBucket
from jiayuan.bus.bus import publish_on_commit
from jiayuan.db.base import table_of
from jiayuan.db.bulk import insert_rows

BUCKET = timedelta(minutes=5)
COUNTERS = (
    "people_in",
    "people_out",
    "camera_in",
    "camera_out",
    "vehicles_in",
    "vehicles_out",
    "outside_in",
    "outside_out",
    "refused",
)
_PENDING = "jiayuan.flow_pending"


@dataclass
class Pending:
    """Counts gathered for one gate and bucket, not yet written."""

    compound_id: int
    community_id: int
    deltas: Counter[str] = field(default_factory=Counter)


def bucket_of(at: datetime) -> datetime:
    """The start of the 5-minute bucket holding `at` (UTC)."""
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % 5, second=0, microsecond=0)


def bump(
    session: Session, *, gate_id: int, compound_id: int, community_id: int, at: datetime, **deltas: int
) -> None:
    """Add to a gate's counters in the bucket of `at` (written by `flush`, in the same transaction)."""
    unknown = set(deltas) - set(COUNTERS)
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
            | dict.fromkeys(COUNTERS, 0)
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
