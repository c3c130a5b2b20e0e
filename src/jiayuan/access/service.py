"""Use cases of the access domain, driven by device events and by people."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.access import alarms, flow, gate_checks, policies, rules, vehicles
from jiayuan.access.gates import GateRef
from jiayuan.access.models import Alarm
from jiayuan.devices.protocol import Door, LineCross, PlateRead, QrScan, Sos
from jiayuan.devices.service import Accepted
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal
from jiayuan.registry.directory import DeviceInfo

DEVICE_OFFLINE = "device_offline"


def handle_device_events(
    session: Session,
    *,
    actor: Principal,
    accepted: Sequence[Accepted],
    came_back: Sequence[DeviceInfo],
    public_keys: dict[str, str],
    now: datetime | None = None,
) -> None:
    """React to freshly stored device events in the same transaction that stores them."""
    policies.require_system(actor)
    now = now or utcnow()
    for alarm in alarms.open_alarms(session, type=DEVICE_OFFLINE, device_ids=[d.id for d in came_back]):
        alarms.clear(session, alarm, at=now)
    sightings: list[vehicles.Sighting] = []
    counted_in: dict[int, tuple[GateRef, DeviceInfo, datetime]] = {}
    for event in accepted:
        gate = GateRef.of_device(event.device)
        if gate is None:
            continue
        at = event.envelope.ts
        payload = event.payload
        if isinstance(payload, QrScan):
            gate_checks.check(
                session,
                token=payload.token,
                gate=gate,
                direction=payload.direction,
                at=at,
                public_keys=public_keys,
                device=event.device,
                device_event_id=event.row_id,
                local_decision=payload.local_decision,
            )
        elif isinstance(payload, PlateRead):
            sightings.append(
                vehicles.Sighting(payload, gate, event.device, at, event.row_id, event.envelope.id)
            )
        elif isinstance(payload, LineCross):
            rules.record_line_cross(session, cross=payload, gate=gate, at=at)
            if payload.direction == "in" and payload.class_ == "person":
                counted_in[gate.id] = (gate, event.device, at)
        elif isinstance(payload, Sos):
            alarms.raise_alarm(
                session,
                type="sos",
                device=event.device,
                at=at,
                summary=f"{gate.name} 一键报警（{payload.button}）",
                evidence={"device_event_id": event.row_id, "pressed": payload.pressed},
            )
        elif isinstance(payload, Door) and payload.state == "forced":
            alarms.raise_alarm(
                session,
                type="door_forced",
                device=event.device,
                at=at,
                summary=f"{gate.name} 门被强行打开",
                evidence={"device_event_id": event.row_id},
            )

    vehicles.record_plates(session, sightings)
    flow.flush(session)
    for gate, device, at in counted_in.values():
        rules.check_tailgating(session, gate=gate, device=device, at=at)


def raise_device_offline(
    session: Session, *, actor: Principal, devices: Sequence[DeviceInfo], now: datetime | None = None
) -> list[Alarm]:
    """A `device_offline` alarm for each gate device that fell silent (one open alarm per device)."""
    policies.require_system(actor)
    now = now or utcnow()
    gate_devices = [d for d in devices if d.gate_id is not None]
    already = {
        a.device_id
        for a in alarms.open_alarms(session, type=DEVICE_OFFLINE, device_ids=[d.id for d in gate_devices])
    }
    return [
        alarms.raise_alarm(
            session,
            type=DEVICE_OFFLINE,
            device=device,
            at=now,
            summary=f"{device.gate_name or ''} {device.name} 设备离线",
            evidence={"device_id": device.id, "kind": device.kind},
        )
        for device in gate_devices
        if device.id not in already
    ]


def list_alarms(
    session: Session, *, actor: Principal, state: str | None = None, type: str | None = None, limit: int = 100
) -> list[Alarm]:
    """Alarms the actor may see, newest first."""
    policies.require_can_view_gates(actor)
    query = select(Alarm).order_by(Alarm.id.desc()).limit(min(max(limit, 1), 500))
    query = query.where(policies.scope_filter(actor, Alarm.community_id, Alarm.compound_id))
    if state is not None:
        query = query.where(Alarm.state == state)
    if type is not None:
        query = query.where(Alarm.type == type)
    return list(session.scalars(query))
