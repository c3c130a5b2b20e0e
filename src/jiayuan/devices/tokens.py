"""Device tokens: issued here, where the device can be looked up, and stored by accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.schemas import TokenIssued
from jiayuan.kernel.errors import Forbidden, NotFound
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.service import directory


def issue_device_token(
    session: Session, *, actor: Principal, device_id: str, name: str, expires_at: datetime | None = None
) -> TokenIssued:
    """A token for a registered device (its MQTT password / HTTP bearer).

    The accounts policy decides with the device's community: a device another community runs is
    reported exactly like one that does not exist.
    """
    if not actor.has_role(Role.ADMIN):
        raise Forbidden("只有管理员可以签发设备令牌")
    device_id = device_id.strip()
    device = directory.devices_by_ids(session, [device_id]).get(device_id) if device_id else None
    if device is None:
        raise NotFound("设备不存在", field="device_id")
    return accounts.create_api_token(
        session,
        actor=actor,
        name=name,
        device_id=device_id,
        expires_at=expires_at,
        device_community=device.community_id,
    )
