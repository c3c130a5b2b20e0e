"""Device events at the gates: hand each stored event to its rule, raise alarms for silent devices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from jiayuan.access import policies, repository
from jiayuan.access.plates import normalise
from jiayuan.access.schemas import AlarmOut, GateRef
from jiayuan.access.service import alarms, flow, gate_checks, plate_reviews, vehicles
from jiayuan.devices.protocol import Door, LineCross, Loitering, PlateRead, PlateUnreadable, QrScan, Sos
from jiayuan.devices.service.pipeline import Accepted
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service.directory import DeviceInfo

DEVICE_OFFLINE = "device_offline"


# Who stayed, in the alarm's words (a camera reports loitering only for the classes its zone watches).
_LOITERERS = {"person": "有人", "bicycle": "自行车", "car": "车辆", "truck": "货车", "bus": "客车"}


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
    for alarm in repository.open_alarms(session, type=DEVICE_OFFLINE, device_ids=[d.id for d in came_back]):
        alarms.clear(session, alarm, at=now)
    sightings: list[vehicles.Sighting] = []
    unreadable: list[plate_reviews.Unreadable] = []
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
        elif isinstance(payload, PlateRead) and normalise(payload.plate).readable:
            sightings.append(
                vehicles.Sighting(payload, gate, event.device, at, event.row_id, event.envelope.id)
            )
        elif isinstance(payload, PlateRead):
            # Junk sent as a plate (a banner, a sign) is no vehicle to count: a person reads the snapshot.
            unreadable.append(
                plate_reviews.Unreadable(
                    gate, event.device, at, event.row_id, "plate_read", text=payload.plate,
                    color=payload.color, confidence=payload.confidence, direction=payload.direction,
                    snapshot=payload.snapshot,
                )
            )  # fmt: skip
        elif isinstance(payload, PlateUnreadable):
            unreadable.append(
                plate_reviews.Unreadable(
                    gate, event.device, at, event.row_id, "plate_unreadable", text=payload.text,
                    confidence=payload.confidence, direction=payload.direction, snapshot=payload.snapshot,
                )
            )  # fmt: skip
        elif isinstance(payload, LineCross):
            flow.record_line_cross(session, cross=payload, gate=gate, at=at)
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
        elif isinstance(payload, Loitering):
            who = _LOITERERS.get(payload.class_, payload.class_)
            evidence: dict[str, object] = {"device_event_id": event.row_id, "zone": payload.zone}
            evidence |= {"seconds": payload.seconds, "track_id": payload.track_id}
            if payload.snapshot:
                evidence["snapshot"] = payload.snapshot
            alarms.raise_alarm(
                session,
                type="loitering",
                device=event.device,
                at=at,
                summary=f"{gate.name} {payload.zone} {who}逗留 {round(payload.seconds / 60)} 分钟",
                evidence=evidence,
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
    plate_reviews.hold(session, unreadable)
    flow.flush(session)
    for gate, device, at in counted_in.values():
        flow.check_tailgating(session, gate=gate, device=device, at=at)


def raise_device_offline(
    session: Session, *, actor: Principal, devices: Sequence[DeviceInfo], now: datetime | None = None
) -> list[AlarmOut]:
    """A `device_offline` alarm for each gate device that fell silent (one open alarm per device)."""
    policies.require_system(actor)
    now = now or utcnow()
    gate_devices = [d for d in devices if d.gate_id is not None]
    already = {
        a.device_id
        for a in repository.open_alarms(session, type=DEVICE_OFFLINE, device_ids=[d.id for d in gate_devices])
    }
    return [
        AlarmOut.model_validate(
            alarms.raise_alarm(
                session,
                type=DEVICE_OFFLINE,
                device=device,
                at=now,
                summary=f"{device.gate_name or ''} {device.name} 设备离线",
                evidence={"device_id": device.id, "kind": device.kind},
            )
        )
        for device in gate_devices
        if device.id not in already
    ]
