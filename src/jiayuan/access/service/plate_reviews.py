"""待辨认车牌: a vehicle whose plate followed no plate format as read waits, with its snapshot, for a
person to read it. The reading then goes through `vehicles` as an ordinary plate read (classification,
presence, watch list, flow), or the vehicle is marked 无车牌/无法辨认; either is audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from jiayuan.access import policies, repository, states
from jiayuan.access.models import UnreadPlate
from jiayuan.access.plates import normalise
from jiayuan.access.schemas import GateRef, PlateReading, UnreadPlateOut
from jiayuan.access.service import flow, vehicles
from jiayuan.access.states import ReviewState
from jiayuan.accounts.service.audit import record_audit
from jiayuan.db.base import table_of
from jiayuan.db.bulk import insert_rows
from jiayuan.devices.protocol import PlateRead
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Invalid, NotFound
from jiayuan.kernel.paging import Page, PageParams
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory
from jiayuan.registry.service.directory import DeviceInfo


@dataclass(frozen=True)
class Unreadable:
    """A vehicle at a gate whose plate no device could read as a plate, as the device reported it."""

    gate: GateRef
    device: DeviceInfo
    at: datetime
    device_event_id: int
    event_type: str
    text: str | None = None
    color: str | None = None
    confidence: float | None = None
    direction: str | None = None
    snapshot: str | None = None


def hold(session: Session, items: Sequence[Unreadable]) -> None:
    """Keep each vehicle for a person to read; it counts nowhere (flow, presence, watch list) until then."""
    rows: list[dict[str, Any]] = [
        {
            "at": item.at,
            "gate_id": item.gate.id,
            "compound_id": item.gate.compound_id,
            "community_id": item.gate.community_id,
            "device_id": item.device.id,
            "device_event_id": item.device_event_id,
            "event_type": item.event_type,
            "text_raw": item.text[:64] if item.text else None,
            "color": item.color,
            "confidence": item.confidence,
            "direction": item.direction,
            "snapshot": item.snapshot,
            "state": ReviewState.WAITING.value,
        }
        for item in items
    ]
    if rows:
        insert_rows(session, table_of(UnreadPlate), rows)


def _scope(actor: Principal) -> ColumnElement[bool]:
    return policies.scope_filter(actor, UnreadPlate.community_id, UnreadPlate.compound_id)


def _out(session: Session, rows: Sequence[UnreadPlate]) -> list[UnreadPlateOut]:
    gates = {g.id: g for g in directory.list_gates(session, community_ids={r.community_id for r in rows})}
    shown = []
    for row in rows:
        gate = gates.get(row.gate_id)
        names = {"gate_name": gate.name, "compound_name": gate.compound_name} if gate else {}
        shown.append(UnreadPlateOut.model_validate(row).model_copy(update=names))
    return shown


def list_waiting(session: Session, *, actor: Principal, params: PageParams) -> Page[UnreadPlateOut]:
    """Unread plates in the actor's scope still waiting for a person, oldest first."""
    policies.require_can_view_gates(actor)
    query = repository.waiting_plates(_scope(actor))
    rows = repository.page_of(session, query, offset=params.offset, size=params.size)
    return Page[UnreadPlateOut](
        items=_out(session, rows), total=repository.count(session, query), page=params.page, size=params.size
    )


def count_waiting(session: Session, *, actor: Principal) -> int:
    """How many unread plates in the actor's scope wait for a person."""
    policies.require_can_view_gates(actor)
    return repository.count(session, repository.waiting_plates(_scope(actor)))


def _for_review(session: Session, actor: Principal, unread_id: int) -> UnreadPlate:
    policies.require_can_view_gates(actor)  # roles without gate access learn nothing, not even existence
    unread = repository.unread_plate_for_update(session, unread_id)
    if unread is None:
        raise NotFound("待辨认车牌不存在", field="unread_id")
    policies.require_can_review_plate(actor, community_id=unread.community_id, compound_id=unread.compound_id)
    return unread


def require_reviewable(session: Session, *, actor: Principal, unread_id: int) -> None:
    """Refuse as reading would (404 outside the scope, 403 for roles that only look), so a form's own
    mistakes are only ever shown about a plate the actor may read."""
    _for_review(session, actor, unread_id)


def _device(session: Session, unread: UnreadPlate, gate: GateRef) -> DeviceInfo:
    """The camera that saw the vehicle; where it stood then, if it has been moved or removed since."""
    device = directory.devices_by_ids(session, [unread.device_id]).get(unread.device_id)
    if device is not None and device.gate_id == gate.id:
        return device
    return DeviceInfo(
        id=unread.device_id, kind=device.kind if device else "plate", name=device.name if device else "",
        enabled=device.enabled if device else False, gate_id=gate.id, gate_name=gate.name,
        compound_id=gate.compound_id, community_id=gate.community_id,
    )  # fmt: skip


def read_plate(session: Session, *, actor: Principal, unread_id: int, data: PlateReading) -> UnreadPlateOut:
    """A person's reading of the snapshot becomes the vehicle's plate read, at the time it passed."""
    unread = _for_review(session, actor, unread_id)
    plate = normalise(data.plate)
    if not plate.valid_format:
        raise Invalid("车牌号码不符合车牌格式：请按抓拍图上的字样填写，如 豫A12345", field="plate")
    states.review(unread, ReviewState.READ, at=utcnow(), by_user_id=actor.user_id, by=actor.username)
    gates = {g.id: g for g in directory.list_gates(session, community_ids=[unread.community_id])}
    known = gates.get(unread.gate_id)
    gate = GateRef(unread.gate_id, known.name if known else "", unread.compound_id, unread.community_id)
    read = PlateRead(
        plate=plate.text, color=data.color, confidence=1.0, direction=data.direction, snapshot=unread.snapshot
    )
    sighting = vehicles.Sighting(
        read,
        gate,
        _device(session, unread, gate),
        unread.at,
        unread.device_event_id,
        reviewed_by=actor.username,
    )
    [unread.passage_id] = vehicles.record_plates(session, [sighting])
    flow.flush(session)
    unread.plate = plate.text
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="plate.read",
        target_type="unread_plate",
        target_id=unread.id,
        target_label=plate.text,
        community_id=unread.community_id,
        detail={
            "passage_id": unread.passage_id, "gate_id": unread.gate_id, "device_id": unread.device_id,
            "snapshot": unread.snapshot, "text_raw": unread.text_raw, "direction": data.direction,
        },
    )  # fmt: skip
    return _out(session, [unread])[0]


def dismiss(
    session: Session, *, actor: Principal, unread_id: int, reason: str | None = None
) -> UnreadPlateOut:
    """Mark the vehicle 无车牌/无法辨认: it stays out of the counts, and the decision is audited."""
    unread = _for_review(session, actor, unread_id)
    states.review(unread, ReviewState.DISMISSED, at=utcnow(), by_user_id=actor.user_id, by=actor.username)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="plate.dismiss",
        target_type="unread_plate",
        target_id=unread.id,
        target_label=unread.text_raw,
        reason=reason,
        community_id=unread.community_id,
        detail={"gate_id": unread.gate_id, "device_id": unread.device_id, "snapshot": unread.snapshot},
    )
    return _out(session, [unread])[0]
