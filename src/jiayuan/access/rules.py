"""Rules on the flow: camera counts far above scans (tailgating)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.access import alarms, flow
from jiayuan.access.gates import GateRef
from jiayuan.access.models import Alarm, FlowBucket
from jiayuan.devices.protocol import LineCross
from jiayuan.registry.directory import DeviceInfo

# "Far above": at least this many more people counted by the camera than admitted by scans in one
# bucket, and at least twice as many. Small differences are normal (children, people holding the door).
TAILGATE_MARGIN = 5
TAILGATE_RATIO = 2.0


def record_line_cross(session: Session, *, cross: LineCross, gate: GateRef, at: datetime) -> None:
    """Count people crossing the gate line (the tailgating check runs once the batch's counts are written)."""
    if cross.class_ != "person":
        return
    counter = "camera_in" if cross.direction == "in" else "camera_out"
    flow.bump(
        session,
        gate_id=gate.id,
        compound_id=gate.compound_id,
        community_id=gate.community_id,
        at=at,
        **{counter: cross.count},
    )


def check_tailgating(session: Session, *, gate: GateRef, device: DeviceInfo, at: datetime) -> None:
    """Raise `tailgating` once per gate and bucket when the camera counted far more people in than scans."""
    bucket = flow.bucket_of(at)
    counts = session.execute(
        select(FlowBucket.camera_in, FlowBucket.people_in).where(
            FlowBucket.gate_id == gate.id, FlowBucket.bucket == bucket
        )
    ).first()
    if counts is None:
        return
    camera, scans = counts
    if camera < scans + TAILGATE_MARGIN or camera < scans * TAILGATE_RATIO:
        return
    already = session.scalar(
        select(Alarm.id)
        .where(
            Alarm.type == "tailgating",
            Alarm.gate_id == gate.id,
            Alarm.raised_at >= bucket,
            Alarm.raised_at < bucket + flow.BUCKET,
        )
        .limit(1)
    )
    if already is not None:
        return
    alarms.raise_alarm(
        session,
        type="tailgating",
        device=device,
        at=at,
        summary=f"{gate.name} 进入人数（摄像机 {camera}）远多于扫码（{scans}），疑似尾随",
        evidence={"bucket": bucket.isoformat(), "camera_in": camera, "scans_in": scans},
    )
