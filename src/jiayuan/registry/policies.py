"""Who may read, change and reveal what in the registry.

Reading: admin and staff see their communities, grid workers the buildings of their grids,
property companies their compounds, a resident their own household; the system sees all.
Police, volunteers and devices see no personal registry data. Anything outside a principal's
scope is reported as not found, so that ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass

from jiayuan.kernel.errors import Forbidden, NotFound
from jiayuan.kernel.i18n import N_
from jiayuan.kernel.principal import Principal, Role

_NO_PERSONAL_DATA = N_("该角色无权查看居民信息")


@dataclass(frozen=True)
class Location:
    """Where a registry object sits in the tree (the parts that scope decisions need)."""

    community_id: int
    compound_id: int | None = None
    building_id: int | None = None
    household_id: int | None = None
    grid_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Scope:
    """What part of the registry a principal may read; `everything` only for the system."""

    everything: bool = False
    community_ids: frozenset[int] = frozenset()
    compound_ids: frozenset[int] = frozenset()
    grid_ids: frozenset[int] = frozenset()
    household_ids: frozenset[int] = frozenset()

    def covers(self, where: Location) -> bool:
        """Whether an object at `where` lies inside this scope."""
        if self.everything:
            return True
        return (
            where.community_id in self.community_ids
            or (where.compound_id is not None and where.compound_id in self.compound_ids)
            or bool(where.grid_ids & self.grid_ids)
            or (where.household_id is not None and where.household_id in self.household_ids)
        )


def personal_scope(actor: Principal) -> Scope:
    """The residents, households and vehicles `actor` may read; Forbidden for roles with none."""
    if actor.is_system:
        return Scope(everything=True)
    if actor.role in (Role.ADMIN, Role.STAFF):
        return Scope(community_ids=actor.community_ids)
    if actor.role is Role.GRID:
        return Scope(grid_ids=actor.grid_ids)
    if actor.role is Role.PROPERTY:
        return Scope(compound_ids=actor.compound_ids)
    if actor.role is Role.RESIDENT:
        return Scope(household_ids=frozenset({actor.household_id} if actor.household_id else ()))
    raise Forbidden(_NO_PERSONAL_DATA)


def may_read_residents(actor: Principal) -> bool:
    """Whether the role reads any residents at all (the 居民 area)."""
    try:
        personal_scope(actor)
    except Forbidden:
        return False
    return True


def may_change_registry(actor: Principal) -> bool:
    """Whether the role changes the registry (in its own communities): admins, staff, the system."""
    return actor.has_role(Role.ADMIN, Role.STAFF)


def require_can_change_registry(
    actor: Principal, refusal: str = N_("只有管理员和社区工作人员可以修改居民信息")
) -> Scope:
    """Refuse roles that do not change the registry (the import page, imports), saying `refusal`; the
    actor's scope."""
    scope = personal_scope(actor)
    if not may_change_registry(actor):
        raise Forbidden(refusal)
    return scope


def structure_scope(actor: Principal) -> Scope:
    """The communities, compounds, buildings and units `actor` may list.

    Police and volunteers work in communities too (the shared feed, duty at gates), and the office
    screen draws the community's plan, so they see the tree of their communities, but still no people.
    """
    if actor.role in (Role.POLICE, Role.VOLUNTEER, Role.SCREEN):
        return Scope(community_ids=actor.community_ids)
    return personal_scope(actor)


def covers_gate(actor: Principal, *, community_id: int | None, compound_id: int | None) -> bool:
    """Whether something at a gate of this community/compound (the gate itself, its devices and
    cameras, its passages and flow) lies inside the actor's scope.

    Property companies reach their compounds only, even when their account also names the community;
    everyone else reaches their communities.
    """
    if actor.is_system:
        return True
    if actor.role is Role.PROPERTY:
        return compound_id is not None and compound_id in actor.compound_ids
    return community_id is not None and community_id in actor.community_ids


def require_readable(actor: Principal, where: Location, *, missing: str = N_("居民不存在")) -> None:
    """Refuse roles without registry access (403) and objects outside scope (404, saying `missing`)."""
    if not personal_scope(actor).covers(where):
        raise NotFound(missing)


def require_writable(actor: Principal, where: Location, *, missing: str = N_("居民不存在")) -> None:
    """Only admin and staff of the community (and the system) change the registry."""
    require_readable(actor, where, missing=missing)
    if not may_change_registry(actor):
        raise Forbidden("只有管理员和社区工作人员可以修改居民信息")


def may_reveal(actor: Principal) -> bool:
    """Whether the role may see whole ID numbers and phones (in its own community, with a reason)."""
    return actor.has_role(Role.ADMIN, Role.STAFF)


def require_full_number_search(actor: Principal) -> None:
    """Looking a resident up by a full ID number or phone answers "is this their number?", which is a
    reveal: only the roles that may reveal (admin, staff, the system) may ask, always with a reason."""
    if not may_reveal(actor):
        raise Forbidden(
            "只有可以查看完整号码的角色（管理员、社区工作人员）才能按完整身份证号或手机号查找；"
            "请改用姓名、拼音、首字母、后 4 位尾号或车牌",
            field="q",
        )


def require_can_reveal(actor: Principal, where: Location) -> None:
    """Full ID numbers and phones: admin and staff of the community (and the system) only."""
    require_readable(actor, where)
    if not may_reveal(actor):
        raise Forbidden("该角色无权查看完整身份证号或手机号")
