"""Who may feed events in, who may read the pipeline's state, and whose devices one sees."""

from __future__ import annotations

from jiayuan.kernel.errors import Forbidden, NotFound
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.policies import covers_gate
from jiayuan.registry.service.directory import DeviceInfo

# The roles that see gates, flow and alarms and watch the cameras: those that work the gates, and the
# office screen (大屏), which only watches.
GATE_ROLES = frozenset(
    {Role.ADMIN, Role.STAFF, Role.PROPERTY, Role.POLICE, Role.GRID, Role.VOLUNTEER, Role.SCREEN}
)
INSPECT_ROLES = frozenset({Role.ADMIN, Role.STAFF, Role.PROPERTY, Role.POLICE})


def require_can_publish(actor: Principal, device_id: str) -> None:
    """Only the platform, or the device itself, may hand in a device's events."""
    if actor.is_system:
        return
    if actor.role is Role.DEVICE and actor.device_id == device_id:
        return
    raise Forbidden("设备只能以自己的身份上报事件")


def require_system(actor: Principal) -> None:
    """What the platform looks up for itself (an alarm's evidence), never for a person."""
    if not actor.is_system:
        raise Forbidden("只有平台可以这样查找抓拍图")


def may_inspect(actor: Principal) -> bool:
    """Dead letters and device status are for staff, admins, property and police."""
    return actor.has_role(*INSPECT_ROLES)


def require_can_inspect(actor: Principal) -> None:
    """Refuse roles that may not inspect devices."""
    if not may_inspect(actor):
        raise Forbidden("无权查看设备状态")


def visible_communities(actor: Principal) -> frozenset[int] | None:
    """Communities whose devices the actor sees; None means all."""
    return None if actor.is_system else actor.community_ids


def may_switch(actor: Principal) -> bool:
    """Admins and staff disable and enable devices (of their communities: `require_can_switch`)."""
    return actor.has_role(Role.ADMIN, Role.STAFF)


def require_can_switch(actor: Principal, community_id: int | None, *, exists: bool) -> None:
    """Admins and staff disable and enable the devices of their communities.

    The role is checked first and "outside your communities" reads as "does not exist", so the
    answer never tells whether a device id exists elsewhere.
    """
    if not may_switch(actor):
        raise Forbidden("只有管理员和社区工作人员可以停用或启用设备")
    communities = visible_communities(actor)
    if not exists or (communities is not None and community_id not in communities):
        raise NotFound("设备不存在", field="device_id")


def may_view_cameras(actor: Principal) -> bool:
    """Live camera pictures: the roles that work the gates."""
    return actor.has_role(*GATE_ROLES)


def require_can_view_cameras(actor: Principal) -> None:
    """Refuse roles that may not watch the cameras."""
    if not may_view_cameras(actor):
        raise Forbidden("无权查看门岗数据")


def device_visible(actor: Principal, device: DeviceInfo) -> bool:
    """Whether a registered device (its status, dead letters, camera pictures) is in the actor's scope:
    the gate rule, so a property company sees its compounds' devices only."""
    return covers_gate(actor, community_id=device.community_id, compound_id=device.compound_id)


def snapshot_visible(actor: Principal, *, community_id: int | None, compound_id: int | None) -> bool:
    """Whether an evidence snapshot taken at a gate of this community/compound is in the actor's scope:
    the camera rule (`require_can_view_cameras` first, then the gate rule on where it was taken)."""
    return covers_gate(actor, community_id=community_id, compound_id=compound_id)


def sees_unregistered(actor: Principal) -> bool:
    """Messages claiming an unregistered device belong to no community; the office and police see
    them so that a misconfigured device can be found at all, property companies do not."""
    return actor.is_system or actor.role is not Role.PROPERTY
