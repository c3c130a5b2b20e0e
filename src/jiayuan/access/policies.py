"""Who may see and do what at the gates."""

from __future__ import annotations

from jiayuan.kernel.errors import Forbidden
from jiayuan.kernel.principal import Principal, Role


def require_system(actor: Principal) -> None:
    """Device-driven use cases run only as the platform itself."""
    if not actor.is_system:
        raise Forbidden("只有平台可以执行此操作")


def require_can_view_gates(actor: Principal) -> None:
    """Gates, flow and alarms: office staff, property companies and police."""
    if not actor.has_role(Role.ADMIN, Role.STAFF, Role.PROPERTY, Role.POLICE, Role.GRID, Role.VOLUNTEER):
        raise Forbidden("无权查看门岗数据")


def visible_communities(actor: Principal) -> frozenset[int] | None:
    """Communities the actor sees; None means every one."""
    return None if actor.is_system else actor.community_ids
