"""Domain events of the devices domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field

from jiayuan.bus.events import DomainEvent


class DeviceEventStored(DomainEvent):
    """A device event passed every check and was stored once."""

    name: ClassVar[str] = "device.event"
    device_id: str
    event_id: str
    type: str
    ts: datetime
    gate_id: int | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class DeadLettered(DomainEvent):
    """A device message was refused and parked with its reason."""

    name: ClassVar[str] = "device.dead_letter"
    device_id: str | None
    reason: str
    detail: str


class DeviceStateChanged(DomainEvent):
    """A device went online/offline, fell silent or was heard again."""

    name: ClassVar[str] = "device.state"
    device_id: str
    gate_id: int | None = None
    compound_id: int | None = None
    state: str


class DeviceAccessChanged(DomainEvent):
    """A device's broker login changed: a token issued, the device disabled or enabled."""

    name: ClassVar[str] = "device.access"
    device_id: str
    enabled: bool
