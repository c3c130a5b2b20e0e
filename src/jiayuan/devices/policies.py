"""Who may feed events in and who may read the pipeline's state."""

from __future__ import annotations

from jiayuan.kernel.errors import Forbidden
from jiayuan.kernel.principal import Principal, Role


def require_can_publish(actor: Principal, device_id: str) -> None:
    """Only the platform, or the device itself, may hand in a device's events."""
    if actor.is_system:
        return
    if actor.role is Role.DEVICE and actor.device_id == device_id:
        return
    raise Forbidden("设备只能以自己的身份上报事件")


def require_can_inspect(actor: Principal) -> None:
    """Dead letters and device status are for staff, admins, property and police."""
    if not actor.has_role(Role.ADMIN, Role.STAFF, Role.PROPERTY, Role.POLICE):
        raise Forbidden("无权查看设备状态")


def visible_communities(actor: Principal) -> frozenset[int] | None:
    """Communities whose devices the actor sees; None means all."""
    return None if actor.is_system else actor.community_ids
