"""Domain events of the access domain."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from jiayuan.bus.events import DomainEvent


class AlarmRaised(DomainEvent):
    """A gate rule fired (the incident domain opens a case from it)."""

    name: ClassVar[str] = "access.alarm_raised"
    alarm_id: int
    type: str
    gate_id: int | None = None
    device_id: str | None = None
    summary: str
    evidence: dict[str, Any] = Field(default_factory=dict)


class AlarmCleared(DomainEvent):
    """The condition behind an alarm ended."""

    name: ClassVar[str] = "access.alarm_cleared"
    alarm_id: int
    type: str
    gate_id: int | None = None
    device_id: str | None = None
