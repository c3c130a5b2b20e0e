"""Gate alarms: raise, clear because the condition ended, list what the actor may see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from jiayuan.access import policies, repository
from jiayuan.access.events import AlarmCleared, AlarmRaised
from jiayuan.access.models import Alarm
from jiayuan.access.schemas import AlarmOut
from jiayuan.access.states import AlarmState, transition
from jiayuan.bus.bus import publish_on_commit
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service.directory import DeviceInfo


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
) -> AlarmOut:
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
            occurred_at=at,
            alarm_id=alarm.id,
            type=type,
            compound_id=alarm.compound_id,
            gate_id=alarm.gate_id,
            device_id=alarm.device_id,
            summary=alarm.summary,
            evidence=evidence,
        ),
    )
    return AlarmOut.model_validate(alarm)


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


def list_alarms(
    session: Session, *, actor: Principal, state: str | None = None, type: str | None = None, limit: int = 100
) -> list[AlarmOut]:
    """Alarms the actor may see, newest first."""
    policies.require_can_view_gates(actor)
    where = policies.scope_filter(actor, Alarm.community_id, Alarm.compound_id)
    rows = repository.alarms_where(session, where, state=state, type=type, limit=min(max(limit, 1), 500))
    return [AlarmOut.model_validate(a) for a in rows]
