"""Use cases of the access domain, driven by device events and by people."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.access import alarms, policies
from jiayuan.access.models import Alarm
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
    now: datetime | None = None,
) -> None:
    """React to freshly stored device events in the ingest transaction."""
    policies.require_system(actor)
    now = now or utcnow()
    for alarm in alarms.open_alarms(session, type=DEVICE_OFFLINE, device_ids=[d.id for d in came_back]):
        alarms.clear(session, alarm, at=now)


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
    communities = policies.visible_communities(actor)
    if communities is not None:
        query = query.where(Alarm.community_id.in_(communities))
    if state is not None:
        query = query.where(Alarm.state == state)
    if type is not None:
        query = query.where(Alarm.type == type)
    return list(session.scalars(query))
