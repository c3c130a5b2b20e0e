"""外来车辆: classify plate reads, track presence with dwell time, the watch list (checked and added to).

A batch of reads costs a fixed number of statements whatever its size: each lookup (registered
vehicles, visitor passes, open presences, watch list) runs once for all the batch's plates, and
passages and presences are written with one multi-row statement each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from jiayuan.access import policies, repository
from jiayuan.access.events import VehicleSeen
from jiayuan.access.models import VehiclePassage, VehiclePresence, WatchPlate
from jiayuan.access.plates import Plate, normalise
from jiayuan.access.schemas import GateRef, WatchPlateIn, WatchPlateOut
from jiayuan.access.service import alarms, flow
from jiayuan.accounts.service.audit import record_audit
from jiayuan.bus.bus import publish_on_commit
from jiayuan.db.base import table_of
from jiayuan.db.bulk import insert_rows
from jiayuan.devices.protocol import PlateRead
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Invalid
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory
from jiayuan.registry.service.directory import DeviceInfo

LOW_CONFIDENCE = 0.6


@dataclass(frozen=True)
class Sighting:
    """One plate read at a gate, as it came from the device."""

    read: PlateRead
    gate: GateRef
    device: DeviceInfo
    at: datetime
    device_event_id: int
    event_id: str | None = None
    reviewed_by: str | None = None  # who read the plate on the snapshot, when no device could


@dataclass(frozen=True)
class _Classified:
    sighting: Sighting
    plate: Plate
    category: str
    notes: list[str]


def _category(
    plate: str,
    sighting: Sighting,
    registered: dict[str, directory.VehicleInfo],
    visitors: dict[str, list[repository.VisitorWindow]],
) -> str:
    vehicle = registered.get(plate)
    if vehicle is not None and vehicle.community_id == sighting.gate.community_id:
        return "resident"
    if any(w.covers(sighting.gate.compound_id, sighting.at) for w in visitors.get(plate, ())):
        return "visitor"
    return "outside"


def _classify(session: Session, sightings: Sequence[Sighting]) -> list[_Classified]:
    plates = [normalise(s.read.plate) for s in sightings]
    texts = {p.text for p in plates}
    registered = directory.vehicles_by_plates(session, texts)
    visitors = repository.visitor_windows(
        session,
        plates=texts,
        compound_ids={s.gate.compound_id for s in sightings},
        since=min(s.at for s in sightings),
        until=max(s.at for s in sightings),
    )
    categories = [_category(p.text, s, registered, visitors) for p, s in zip(plates, sightings, strict=True)]
    suspects = {
        alt for p, c in zip(plates, categories, strict=True) if c == "outside" for alt in p.alternatives
    }
    misread = directory.vehicles_by_plates(session, suspects)
    classified = []
    for sighting, plate, category in zip(sightings, plates, categories, strict=True):
        notes = list(plate.notes)
        if category == "outside":
            notes += [f"若识别有误，可能是登记车辆 {p}" for p in sorted(plate.alternatives) if p in misread]
        if sighting.reviewed_by is not None:
            notes.append(f"{sighting.reviewed_by} 看抓拍图辨认")
        if sighting.read.confidence < LOW_CONFIDENCE:
            notes.append(f"识别置信度低（{sighting.read.confidence:.2f}）")
        classified.append(_Classified(sighting, plate, category, notes))
    return classified


def _passage_row(item: _Classified) -> dict[str, Any]:
    s, read = item.sighting, item.sighting.read
    return {
        "at": s.at,
        "gate_id": s.gate.id,
        "compound_id": s.gate.compound_id,
        "community_id": s.gate.community_id,
        "device_id": s.device.id,
        "device_event_id": s.device_event_id,
        "plate_raw": read.plate[:16],
        "plate": item.plate.text[:16],
        "color": read.color,
        "confidence": read.confidence,
        "direction": read.direction,
        "category": item.category,
        "valid_format": item.plate.valid_format,
        "notes": item.notes,
        "snapshot": read.snapshot,
    }


def _presence_row(item: _Classified) -> dict[str, Any]:
    gate = item.sighting.gate
    return {
        "plate": item.plate.text[:16],
        "compound_id": gate.compound_id,
        "community_id": gate.community_id,
        "category": item.category,
        "entered_at": None,
        "entered_gate_id": None,
        "left_at": None,
        "left_gate_id": None,
        "dwell_s": None,
    }


def _dwell(entered_at: datetime | None, left_at: datetime) -> int | None:
    return None if entered_at is None else max(int((left_at - entered_at).total_seconds()), 0)


def _track_presence(session: Session, items: Sequence[_Classified]) -> None:
    """Open a presence on entry, close the open one on exit (an exit without entry is kept, closed)."""
    stored = repository.open_presences(
        session,
        plates={i.plate.text[:16] for i in items},
        compound_ids={i.sighting.gate.compound_id for i in items},
    )
    opened: dict[tuple[int, str], dict[str, Any]] = {}  # rows of this batch, still open
    new_rows: list[dict[str, Any]] = []
    closed: list[dict[str, Any]] = []
    for item in items:
        gate, at = item.sighting.gate, item.sighting.at
        key = (gate.compound_id, item.plate.text[:16])
        if item.sighting.read.direction == "in":
            if key not in stored and key not in opened:
                row = _presence_row(item) | {"entered_at": at, "entered_gate_id": gate.id}
                new_rows.append(row)
                opened[key] = row
            continue
        exit = {"left_at": at, "left_gate_id": gate.id}
        if key in opened:
            row = opened.pop(key)
            row.update(exit, dwell_s=_dwell(row["entered_at"], at))
        elif key in stored:
            presence = stored.pop(key)
            closed.append({"id": presence.id, **exit, "dwell_s": _dwell(presence.entered_at, at)})
        else:
            # An exit without a recorded entry (entered before the system ran, or a missed read).
            new_rows.append(_presence_row(item) | exit)
    if new_rows:
        insert_rows(session, table_of(VehiclePresence), new_rows)
    if closed:
        session.execute(update(VehiclePresence), closed)


def _check_watch_list(session: Session, items: Sequence[_Classified], passage_ids: Sequence[int]) -> None:
    watched = repository.watched_plates(
        session,
        plates={p for i in items for p in (i.plate.text, *i.plate.alternatives)},
        community_ids={i.sighting.gate.community_id for i in items},
    )
    if not watched:
        return
    for item, passage_id in zip(items, passage_ids, strict=True):
        s, plate = item.sighting, item.plate
        for candidate in (plate.text, *plate.alternatives):
            entry = watched.get((s.gate.community_id, candidate))
            if entry is None:
                continue
            exact = entry.plate == plate.text
            suspected = "" if exact else f"（疑似，识别为 {plate.text}）"
            alarms.raise_alarm(
                session,
                type="watchlist_plate",
                device=s.device,
                at=s.at,
                summary=f"{s.gate.name} 布控车辆 {entry.plate}{suspected}",
                evidence={
                    "passage_id": passage_id,
                    "plate_read": s.read.plate,
                    "plate": plate.text,
                    "watch_plate": entry.plate,
                    "exact": exact,
                    "reason": entry.reason,
                    "snapshot": s.read.snapshot,
                    "device_event_id": s.device_event_id,
                },
            )


def record_plates(session: Session, sightings: Sequence[Sighting]) -> list[int]:
    """Store and classify plate reads in order; count them, track presence, check the watch list.

    Returns the new passage ids, in the order of `sightings`.
    """
    if not sightings:
        return []
    items = _classify(session, sightings)
    # Matched back through the unique device event id: no ordered RETURNING needed (SQLite has none).
    rows = [_passage_row(i) for i in items]
    stored = insert_rows(session, table_of(VehiclePassage), rows, returning=("device_event_id", "id"))
    id_of: dict[int, int] = {row.device_event_id: row.id for row in stored}
    passage_ids = [id_of[i.sighting.device_event_id] for i in items]
    _track_presence(session, items)
    _check_watch_list(session, items, passage_ids)
    for item, passage_id in zip(items, passage_ids, strict=True):
        s = item.sighting
        counts = {"vehicles_in" if s.read.direction == "in" else "vehicles_out": 1}
        if item.category == "outside":
            counts["outside_in" if s.read.direction == "in" else "outside_out"] = 1
        flow.bump(
            session,
            gate_id=s.gate.id,
            compound_id=s.gate.compound_id,
            community_id=s.gate.community_id,
            at=s.at,
            **counts,
        )
        publish_on_commit(
            session,
            VehicleSeen(
                community_id=s.gate.community_id,
                passage_id=passage_id,
                event_id=s.event_id,
                gate_id=s.gate.id,
                compound_id=s.gate.compound_id,
                plate=item.plate.text,
                category=item.category,
                direction=s.read.direction,
                valid_format=item.plate.valid_format,
                notes=item.notes,
                device_id=s.device.id,
                snapshot=s.read.snapshot,
            ),
        )
    return passage_ids


def add_watch_plate(session: Session, *, actor: Principal, data: WatchPlateIn) -> WatchPlateOut:
    """Put a plate on a community's watch list (police, staff, admins)."""
    policies.require_can_watch(actor, community_id=data.community_id)
    plate = normalise(data.plate)
    if not plate.valid_format:
        raise Invalid("车牌格式不正确：{notes}", field="plate", notes="；".join(plate.notes))
    existing = repository.watch_plate(session, community_id=data.community_id, plate=plate.text)
    if existing is not None:
        return WatchPlateOut.model_validate(existing)
    entry = WatchPlate(
        community_id=data.community_id, plate=plate.text, reason=data.reason, added_at=utcnow()
    )
    session.add(entry)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="watchlist.add",
        target_type="plate",
        target_id=plate.text,
        reason=data.reason,
        community_id=data.community_id,
    )
    return WatchPlateOut.model_validate(entry)
