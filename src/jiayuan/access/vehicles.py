"""外来车辆: classify plate reads, track presence with dwell time, watch list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.access import alarms, flow
from jiayuan.access.events import VehicleSeen
from jiayuan.access.gates import GateRef
from jiayuan.access.models import VehiclePassage, VehiclePresence, VisitorPass, WatchPlate
from jiayuan.access.plates import normalise
from jiayuan.bus.bus import publish_on_commit
from jiayuan.devices.schemas import PlateRead
from jiayuan.registry import directory
from jiayuan.registry.directory import DeviceInfo

LOW_CONFIDENCE = 0.6


def _category(
    session: Session, plate: str, gate: GateRef, at: datetime, known: dict[str, directory.VehicleInfo] | None
) -> str:
    registered = (known if known is not None else directory.vehicles_by_plates(session, [plate])).get(plate)
    if registered is not None and registered.community_id == gate.community_id:
        return "resident"
    visitor = session.scalar(
        select(VisitorPass.id)
        .where(
            VisitorPass.plate == plate,
            VisitorPass.compound_id == gate.compound_id,
            VisitorPass.valid_from <= at,
            VisitorPass.valid_until >= at,
            VisitorPass.revoked_at.is_(None),
        )
        .limit(1)
    )
    return "visitor" if visitor is not None else "outside"


def _track_presence(session: Session, passage: VehiclePassage, gate: GateRef) -> None:
    open_row = session.scalar(
        select(VehiclePresence)
        .where(
            VehiclePresence.compound_id == gate.compound_id,
            VehiclePresence.plate == passage.plate,
            VehiclePresence.left_at.is_(None),
        )
        .order_by(VehiclePresence.id.desc())
        .limit(1)
    )
    if passage.direction == "in":
        if open_row is None:
            session.add(
                VehiclePresence(
                    plate=passage.plate,
                    compound_id=gate.compound_id,
                    community_id=gate.community_id,
                    category=passage.category,
                    entered_at=passage.at,
                    entered_gate_id=gate.id,
                )
            )
        return
    if open_row is None:
        # An exit without a recorded entry (entered before the system ran, or a missed read).
        session.add(
            VehiclePresence(
                plate=passage.plate,
                compound_id=gate.compound_id,
                community_id=gate.community_id,
                category=passage.category,
                left_at=passage.at,
                left_gate_id=gate.id,
            )
        )
        return
    open_row.left_at = passage.at
    open_row.left_gate_id = gate.id
    if open_row.entered_at is not None:
        open_row.dwell_s = max(int((passage.at - open_row.entered_at).total_seconds()), 0)


def record_plate(
    session: Session,
    *,
    read: PlateRead,
    gate: GateRef,
    device: DeviceInfo,
    at: datetime,
    device_event_id: int | None,
    event_id: str | None = None,
    registered: dict[str, directory.VehicleInfo] | None = None,
) -> VehiclePassage:
    """Store and classify one plate read; count it, track presence, check the watch list."""
    plate = normalise(read.plate)
    category = _category(session, plate.text, gate, at, registered)
    notes = list(plate.notes)
    if category == "outside" and plate.alternatives:
        matches = directory.vehicles_by_plates(session, plate.alternatives)
        notes += [f"若识别有误，可能是登记车辆 {p}" for p in sorted(matches)]
    if read.confidence < LOW_CONFIDENCE:
        notes.append(f"识别置信度低（{read.confidence:.2f}）")
    passage = VehiclePassage(
        at=at,
        gate_id=gate.id,
        compound_id=gate.compound_id,
        community_id=gate.community_id,
        device_id=device.id,
        device_event_id=device_event_id,
        plate_raw=read.plate[:16],
        plate=plate.text[:16],
        color=read.color,
        confidence=read.confidence,
        direction=read.direction,
        category=category,
        valid_format=plate.valid_format,
        notes=notes,
        snapshot=read.snapshot,
    )
    session.add(passage)
    session.flush()
    _track_presence(session, passage, gate)
    counts = {"vehicles_in" if read.direction == "in" else "vehicles_out": 1}
    if category == "outside":
        counts["outside_in" if read.direction == "in" else "outside_out"] = 1
    flow.bump(
        session,
        gate_id=gate.id,
        compound_id=gate.compound_id,
        community_id=gate.community_id,
        at=at,
        **counts,
    )
    watched = session.scalars(
        select(WatchPlate).where(
            WatchPlate.community_id == gate.community_id,
            WatchPlate.plate.in_([plate.text, *plate.alternatives]),
        )
    ).all()
    for entry in watched:
        exact = entry.plate == plate.text
        alarms.raise_alarm(
            session,
            type="watchlist_plate",
            device=device,
            at=at,
            summary=f"{gate.name} 布控车辆 {entry.plate}"
            + ("" if exact else f"（疑似，识别为 {plate.text}）"),
            evidence={
                "passage_id": passage.id,
                "plate_read": read.plate,
                "plate": plate.text,
                "watch_plate": entry.plate,
                "exact": exact,
                "reason": entry.reason,
                "snapshot": read.snapshot,
                "device_event_id": device_event_id,
            },
        )
    publish_on_commit(
        session,
        VehicleSeen(
            community_id=gate.community_id,
            passage_id=passage.id,
            event_id=event_id,
            gate_id=gate.id,
            compound_id=gate.compound_id,
            plate=plate.text,
            category=category,
            direction=read.direction,
            valid_format=plate.valid_format,
            notes=notes,
        ),
    )
    return passage
