"""Disabling and enabling a device: the one use case behind the console button, the API and the CLI.

A disabled device's events are refused (HTTP and ingest alike), and once the change commits the
broker refuses its login and disconnects it (the entry points keep the broker in step on
`DeviceAccessChanged`). Disabling revokes the device's tokens too unless asked not to; enabling
again then needs a new token.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from jiayuan.accounts.service import audit, tokens
from jiayuan.bus.bus import publish_on_commit
from jiayuan.devices import policies
from jiayuan.devices.events import DeviceAccessChanged
from jiayuan.kernel.errors import Invalid, NotFound
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import devices, directory
from jiayuan.registry.service.directory import DeviceInfo

REASON_MAX = 200


@dataclass(frozen=True)
class Switched:
    """The device after the change, and how many of its tokens were revoked."""

    device: DeviceInfo
    tokens_revoked: int


def disable_device(
    session: Session, *, actor: Principal, device_id: str, reason: str, revoke_tokens: bool = True
) -> Switched:
    """Disable a device (and by default revoke all its tokens), with a stated reason, audited."""
    return _switch(
        session, actor=actor, device_id=device_id, enabled=False, reason=reason, revoke=revoke_tokens
    )


def enable_device(session: Session, *, actor: Principal, device_id: str, reason: str) -> Switched:
    """Enable a disabled device again (a revoked token stays revoked: issue a new one), audited."""
    return _switch(session, actor=actor, device_id=device_id, enabled=True, reason=reason, revoke=False)


def _switch(
    session: Session, *, actor: Principal, device_id: str, enabled: bool, reason: str, revoke: bool
) -> Switched:
    device = directory.devices_by_ids(session, [device_id]).get(device_id)
    policies.require_can_switch(actor, device.community_id if device else None, exists=device is not None)
    reason = reason.strip()
    if not reason:
        raise Invalid("请填写原因", field="reason")
    if len(reason) > REASON_MAX:
        raise Invalid("原因不能超过 {n} 个字", field="reason", n=REASON_MAX)
    switched = devices.set_enabled(session, device_id=device_id, enabled=enabled)
    if switched is None:  # removed meanwhile
        raise NotFound("设备不存在", field="device_id")
    revoked = (
        tokens.revoke_device_tokens(
            session, actor=actor, device_id=device_id, community_id=switched.community_id, reason=reason
        )
        if revoke
        else 0
    )
    audit.record_audit(
        session,
        actor=actor,
        action="device.enable" if enabled else "device.disable",
        target_type="device",
        target_id=device_id,
        target_label=switched.name,
        reason=reason,
        community_id=switched.community_id,
        detail={"tokens_revoked": revoked},
    )
    publish_on_commit(
        session,
        DeviceAccessChanged(device_id=device_id, enabled=enabled, community_id=switched.community_id),
    )
    return Switched(switched, revoked)
