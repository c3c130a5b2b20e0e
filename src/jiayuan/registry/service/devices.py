"""Switching a registered device on or off (the devices domain's disable/enable use case calls this)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jiayuan.registry.models import Device
from jiayuan.registry.service.directory import DeviceInfo, devices_by_ids


def set_enabled(session: Session, *, device_id: str, enabled: bool) -> DeviceInfo | None:
    """Store the device's switch; None when no such device is registered (callers check scope first)."""
    device = session.get(Device, device_id)
    if device is None:
        return None
    device.enabled = enabled
    session.flush()
    return devices_by_ids(session, [device_id])[device_id]
