"""Who plans patrols, who makes the rounds, who sees them.

Admins and staff plan their communities' patrols; they, grid workers and volunteers make the rounds and
see them, as does the office screen (read only). A plan or round of another community reads as one that
does not exist.
"""

from __future__ import annotations

from jiayuan.kernel.errors import Forbidden, NotFound
from jiayuan.kernel.principal import Principal, Role

_PLANNERS = (Role.ADMIN, Role.STAFF)
_PATROLLERS = (Role.ADMIN, Role.STAFF, Role.GRID, Role.VOLUNTEER)
_READERS = (*_PATROLLERS, Role.SCREEN)


def may_read(actor: Principal) -> bool:
    """Whether the role sees patrols at all (the 巡查 area)."""
    return actor.is_system or actor.role in _READERS


def require_reader(actor: Principal) -> None:
    """Refuse roles with no patrols."""
    if not may_read(actor):
        raise Forbidden("该角色无权查看视频巡查")


def may_plan(actor: Principal) -> bool:
    """Whether the role plans patrols (the console offers the plan forms)."""
    return actor.is_system or actor.role in _PLANNERS


def require_may_plan(actor: Principal) -> None:
    """Refuse roles that do not plan patrols."""
    if not may_plan(actor):
        raise Forbidden("只有管理员和社区工作人员可以制定巡查计划")


def require_planner(actor: Principal, community_id: int) -> None:
    """Admins and staff plan their own communities' patrols (another community's reads as missing)."""
    require_may_plan(actor)
    if not reaches(actor, community_id):
        raise NotFound("社区不存在", field="community_id")


def require_patroller(actor: Principal) -> None:
    """Refuse roles that do not make rounds (the screen watches, it does not patrol)."""
    if not (actor.is_system or actor.role in _PATROLLERS):
        raise Forbidden("该角色不能进行巡查")


def reaches(actor: Principal, community_id: int) -> bool:
    """Whether a plan or round of this community lies in the actor's scope."""
    return actor.is_system or community_id in actor.community_ids


def communities(actor: Principal) -> frozenset[int] | None:
    """The communities whose patrols the actor sees; None means all."""
    return None if actor.is_system else actor.community_ids


def require_plan_visible(actor: Principal, community_id: int | None) -> None:
    """A plan in scope, or NotFound for a missing one and one out of scope alike."""
    require_reader(actor)
    if community_id is None or not reaches(actor, community_id):
        raise NotFound("巡查计划不存在", field="plan_id")


def require_plan_editable(actor: Principal, community_id: int | None) -> None:
    """Admins and staff change their own communities' plans; another community's plan, or a missing
    one, reads as missing (to a planner of elsewhere too)."""
    if not (actor.is_system or actor.role in _PLANNERS):
        raise Forbidden("只有管理员和社区工作人员可以修改巡查计划")
    if community_id is None or not reaches(actor, community_id):
        raise NotFound("巡查计划不存在", field="plan_id")
