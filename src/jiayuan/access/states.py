"""Alarm states: open → cleared (by the condition ending) or acknowledged → cleared."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from jiayuan.access.models import Alarm
from jiayuan.kernel.errors import Conflict


class AlarmState(StrEnum):
    """Where an alarm stands."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"


TRANSITIONS: dict[AlarmState, frozenset[AlarmState]] = {
    AlarmState.OPEN: frozenset({AlarmState.ACKNOWLEDGED, AlarmState.CLEARED}),
    AlarmState.ACKNOWLEDGED: frozenset({AlarmState.CLEARED}),
    AlarmState.CLEARED: frozenset(),
}


def transition(alarm: Alarm, target: AlarmState, *, at: datetime) -> None:
    """The only place an alarm's state changes."""
    current = AlarmState(alarm.state)
    if target not in TRANSITIONS[current]:
        raise Conflict(f"告警不能从 {current} 变为 {target}", field="state")
    alarm.state = target.value
    if target is AlarmState.CLEARED:
        alarm.cleared_at = at
