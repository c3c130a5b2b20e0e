"""Flow counters in 5-minute buckets per gate, bumped atomically (ingest processes may share a bucket)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from jiayuan.access.events import FlowChanged
from jiayuan.access.models import FlowBucket
from jiayuan.bus.bus import publish_on_commit
from jiayuan.db.upsert import insert_ignoring_conflicts

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


def bucket_of(at: datetime) -> datetime:
    """The start of the 5-minute bucket holding `at` (UTC)."""
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % 5, second=0, microsecond=0)


def bump(
    session: Session, *, gate_id: int, compound_id: int, community_id: int, at: datetime, **deltas: int
) -> None:
    """Add to a gate's counters in the bucket of `at`."""
    unknown = set(deltas) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown flow counters {sorted(unknown)}")
    bucket = bucket_of(at)
    insert_ignoring_conflicts(
        session,
        FlowBucket.__table__,  # type: ignore[arg-type]
        [
            {"gate_id": gate_id, "compound_id": compound_id, "community_id": community_id, "bucket": bucket}
            | dict.fromkeys(COUNTERS, 0)
        ],
        keys=("gate_id", "bucket"),
        returning=("id",),
    )
    values = {name: getattr(FlowBucket, name) + n for name, n in deltas.items() if n}
    if values:
        session.execute(
            update(FlowBucket)
            .where(FlowBucket.gate_id == gate_id, FlowBucket.bucket == bucket)
            .values(values)
            .execution_options(synchronize_session=False)
        )
        publish_on_commit(
            session,
            FlowChanged(
                community_id=community_id,
                gate_id=gate_id,
                compound_id=compound_id,
                bucket=bucket.isoformat(),
                deltas={k: v for k, v in deltas.items() if v},
            ),
        )
