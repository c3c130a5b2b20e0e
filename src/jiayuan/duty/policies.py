"""Who may see and change which roster.

A community's admins and staff see and edit its rosters; a grid worker sees the shifts at their grids
and the community-wide posts (whom to call); anyone sees and signs their own shifts; the office's big
screen sees who is on duty in its communities; residents, police and devices see no roster. A community,
shift, template or holiday out of reach answers exactly like a missing one, so ids cannot be probed.
"""

from __future__ import annotations

from jiayuan.duty.schemas import PlaceKind
from jiayuan.kernel.errors import Forbidden, NotFound
from jiayuan.kernel.i18n import N_
from jiayuan.kernel.principal import Principal, Role

_OFFICE = (Role.ADMIN, Role.STAFF)
# The roles that may stand a shift (and so see their own).
ON_DUTY_ROLES = (Role.ADMIN, Role.STAFF, Role.GRID, Role.PROPERTY, Role.VOLUNTEER)
# The office's big screen shows who is on duty across its communities, and changes nothing.
_WATCHERS = (Role.SCREEN,)
NO_COMMUNITY = N_("社区不存在")
NO_SHIFT = N_("值班班次不存在")
NO_TEMPLATE = N_("值班模板不存在")
NO_HOLIDAY = N_("节假日不存在")


def require_system(actor: Principal) -> None:
    """The platform keeps the rosters produced on its own."""
    if not actor.is_system:
        raise Forbidden("只有平台可以自动续排值班表")


def may_read(actor: Principal) -> bool:
    """Whether the role sees any roster at all (the 值班 area)."""
    return actor.is_system or actor.role in ON_DUTY_ROLES or actor.role in _WATCHERS


def require_reader(actor: Principal) -> None:
    """Roles that never stand a shift see no roster at all."""
    if not may_read(actor):
        raise Forbidden("该角色无权查看值班表")


def edits(actor: Principal, community_id: int) -> bool:
    """Whether the actor runs the community's rosters."""
    return actor.is_system or (actor.role in _OFFICE and community_id in actor.community_ids)


def require_editor(actor: Principal, community_id: int) -> None:
    """The community's office, else "does not exist" for any community."""
    require_reader(actor)
    if not edits(actor, community_id):
        raise NotFound(NO_COMMUNITY, field="community_id")


def sees_post(
    actor: Principal,
    home: frozenset[int],
    *,
    community_id: int,
    place_kind: PlaceKind,
    place_id: int | None,
    user_id: int | None = None,
) -> bool:
    """Whether the actor sees who is on duty at this post (`home`: the communities the actor works in)."""
    if edits(actor, community_id) or (actor.user_id is not None and actor.user_id == user_id):
        return True
    if actor.role in _WATCHERS:
        return community_id in actor.community_ids
    if actor.role is Role.GRID and community_id in home:
        if place_kind is PlaceKind.COMMUNITY:
            return True
        return place_kind is PlaceKind.GRID and place_id in actor.grid_ids
    return False


def signs(actor: Principal, community_id: int, user_id: int) -> bool:
    """The person on the shift signs in and out; the office may do it for them."""
    return edits(actor, community_id) or (actor.user_id is not None and actor.user_id == user_id)
