"""Who may read the outbox and who may drive it.

Admins and staff see the messages of their communities (the console page 消息); the sender loop is the
platform's own. A message outside reach is answered like a missing one.
"""

from __future__ import annotations

from jiayuan.kernel.errors import Forbidden
from jiayuan.kernel.principal import Principal, Role

_READERS = (Role.ADMIN, Role.STAFF)


def may_read(actor: Principal) -> bool:
    """Whether the role sees any messages (the 消息 area)."""
    return actor.is_system or actor.role in _READERS


def require_reader(actor: Principal) -> None:
    """Only the office reads what was sent on its behalf."""
    if not may_read(actor):
        raise Forbidden("该角色无权查看消息")


def may_read_codes(actor: Principal) -> bool:
    """Residents' sign-in codes are shown in full to admins only (the demo signs in with them); staff
    see that a code went out, not the code."""
    return actor.is_system or actor.role is Role.ADMIN


def require_system(actor: Principal) -> None:
    """Claiming and settling messages is the sender loop's work."""
    if not actor.is_system:
        raise Forbidden("只有平台的发送进程可以发送消息")


def reach(actor: Principal) -> frozenset[int] | None:
    """The communities whose messages the actor sees; None for all of them."""
    require_reader(actor)
    return None if actor.is_system else actor.community_ids
