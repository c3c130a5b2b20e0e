"""Domain events of the accounts domain."""

from __future__ import annotations

from typing import ClassVar

from jiayuan.bus.events import DomainEvent


class DeviceTokensRevoked(DomainEvent):
    """Tokens of a device stopped working (the broker must stop taking the device at once)."""

    name: ClassVar[str] = "device.tokens_revoked"
    device_id: str
    token_ids: list[int]
