"""Raising and clearing gate alarms; one open alarm per (type, device) at a time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.access.events import AlarmCleared, AlarmRaised
from jiayuan.access.models import Alarm
from jiayuan.access.states import AlarmState, transition
from jiayuan.bus.bus import publish_on_commit
from jiayuan.registry.directory import DeviceInfo


def raise_alarm(
    session: Session,
    *,
    type: str,
    device: DeviceInfo | None,
    at: datetime,
    summary: str,
    evidence: dict[str, Any],
    gate_id: int | None = None,
    community_id: int | None = None,
    compound_id: int | None = None,
) -> Alarm:
    """Store an alarm and announce it after commit."""
    alarm = Alarm(
        type=type,
        state=AlarmState.OPEN.value,
        device_id=device.id if device else None,
        gate_id=device.gate_id if device else gate_id,
        community_id=device.community_id if device else community_id,
        compound_id=device.compound_id if device else compound_id,
        raised_at=at,
        summary=summary[:200],
        evidence=evidence,
    )
    session.add(alarm)
    session.flush()
    publish_on_commit(
        session,
        AlarmRaised(
            community_id=alarm.community_id,
            alarm_id=alarm.id,
            type=type,
            compound_id=alarm.compound_id,
            gate_id=alarm.gate_id,
            device_id=alarm.device_id,
            summary=alarm.summary,
            evidence=evidence,
        ),
    )
    return alarm


def open_alarms(session: Session, *, type: str, device_ids: Iterable[str]) -> list[Alarm]:
    """Open or acknowledged alarms of a type on these devices."""
    ids = list(device_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            select(Alarm).where(
                Alarm.type == type,
                Alarm.device_id.in_(ids),
                Alarm.state != AlarmState.CLEARED.value,
            )
        )
    )


def clear(session: Session, alarm: Alarm, *, at: datetime) -> None:
    """Close an alarm because its condition ended."""
    transition(alarm, AlarmState.CLEARED, at=at)
    publish_on_commit(
        session,
        AlarmCleared(
            community_id=alarm.community_id,
            alarm_id=alarm.id,
            type=alarm.type,
            compound_id=alarm.compound_id,
            gate_id=alarm.gate_id,
            device_id=alarm.device_id,
        ),
    )
