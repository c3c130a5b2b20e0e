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
    compound_id: int | None = None
    gate_id: int | None = None
    device_id: str | None = None
    summary: str
    evidence: dict[str, Any] = Field(default_factory=dict)


class AlarmCleared(DomainEvent):
    """The condition behind an alarm ended."""

    name: ClassVar[str] = "access.alarm_cleared"
    alarm_id: int
    type: str
    compound_id: int | None = None
    gate_id: int | None = None
    device_id: str | None = None


class PassChecked(DomainEvent):
    """A pass was checked at a gate (the person's id stays out of the live feed)."""

    name: ClassVar[str] = "access.pass_checked"
    check_id: int
    gate_id: int
    compound_id: int
    direction: str
    decision: str
    reason: str
    kind: str | None = None
    visitor_entries_left: int | None = None


class VehicleSeen(DomainEvent):
    """A plate was read at a gate and classified."""

    name: ClassVar[str] = "access.vehicle_seen"
    passage_id: int
    event_id: str | None = None
    gate_id: int
    compound_id: int
    plate: str
    category: str
    direction: str
    valid_format: bool
    notes: list[str] = Field(default_factory=list)
    device_id: str | None = None
    snapshot: str | None = Field(default=None, description="the plate camera's evidence snapshot, if any")


class FlowChanged(DomainEvent):
    """A gate's flow counters moved (the live flow stream)."""

    name: ClassVar[str] = "access.flow"
    gate_id: int
    compound_id: int
    bucket: str
    deltas: dict[str, int] = Field(default_factory=dict)
    revision: int = Field(description="the bucket's revision after this change (see FlowOut.marks)")


class PassRevoked(DomainEvent):
    """A pass went on the revocation list: gate readers that verify offline need the new list."""

    name: ClassVar[str] = "access.pass_revoked"
    revocation_version: int
