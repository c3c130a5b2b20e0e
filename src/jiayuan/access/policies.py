"""Who may see and do what at the gates."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.orm import InstrumentedAttribute

from jiayuan.devices.policies import GATE_ROLES
from jiayuan.kernel.errors import Forbidden, Invalid, NotFound
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.policies import Location, Scope, covers_gate, may_read_residents, personal_scope


def require_system(actor: Principal) -> None:
    """Device-driven use cases run only as the platform itself."""
    if not actor.is_system:
        raise Forbidden("只有平台可以执行此操作")


def may_view_gates(actor: Principal) -> bool:
    """Gates, flow and alarms: office staff, grid workers, volunteers, property companies, police and
    the office screen."""
    return actor.has_role(*GATE_ROLES)


def require_can_view_gates(actor: Principal) -> None:
    """Refuse roles that do not work the gates."""
    if not may_view_gates(actor):
        raise Forbidden("无权查看门岗数据")


def sees(actor: Principal, *, community_id: int | None, compound_id: int | None) -> bool:
    """Whether a gate-level record of this community/compound is inside the actor's scope."""
    return covers_gate(actor, community_id=community_id, compound_id=compound_id)


def scope_filter(
    actor: Principal,
    community: InstrumentedAttribute[int | None],
    compound: InstrumentedAttribute[int | None],
) -> ColumnElement[bool]:
    """The same scope as `sees`, as a SQL condition."""
    if actor.is_system:
        return true()
    if actor.role is Role.PROPERTY:
        return compound.in_(actor.compound_ids) if actor.compound_ids else false()
    return community.in_(actor.community_ids) if actor.community_ids else false()


def require_verifier(actor: Principal) -> None:
    """Checking a pass at a gate: the gate's devices, the roles that work the gates, the platform;
    not the office screen, which only watches."""
    if actor.role is Role.SCREEN:
        raise Forbidden("大屏账号只能查看，不能验码")
    if actor.role is not Role.DEVICE:
        require_can_view_gates(actor)


def verifies_at(
    actor: Principal, *, community_id: int, compound_id: int, device_ids: tuple[str, ...]
) -> bool:
    """Whether the actor may check passes at this gate: a device standing there, or a gate in scope."""
    if actor.role is Role.DEVICE:
        return actor.device_id in device_ids
    return sees(actor, community_id=community_id, compound_id=compound_id)


def require_can_issue_resident_pass(
    actor: Principal, *, person_id: int, household_id: int, community_id: int
) -> None:
    """A resident for themself or their household; staff and admins of the community."""
    if actor.is_system:
        return
    if actor.role is Role.RESIDENT and (actor.person_id == person_id or actor.household_id == household_id):
        return
    if actor.role in (Role.ADMIN, Role.STAFF) and community_id in actor.community_ids:
        return
    raise NotFound("居民不存在", field="resident")


def require_inviter(actor: Principal) -> None:
    """Households invite their visitors, staff and admins register them; other roles never (403)."""
    if not actor.has_role(Role.RESIDENT, Role.ADMIN, Role.STAFF):
        raise Forbidden("只能为本户邀请访客")


def may_invite_for(actor: Principal, *, household_id: int, community_id: int) -> bool:
    """A household its own visitors; staff and admins of the household's community."""
    if actor.is_system:
        return True
    if actor.role is Role.RESIDENT:
        return actor.household_id == household_id
    return actor.role in (Role.ADMIN, Role.STAFF) and community_id in actor.community_ids


def visitor_scope(actor: Principal) -> Scope:
    """Whose visitor passes `actor` may read; Forbidden (for every id) for roles that may read none.

    A visitor pass carries a household's guest (name, phone, plate), so it reaches exactly as far as
    that household's registry record: staff and admins their community, grid workers the buildings of
    their grids, property companies (the gate guards) their compounds, a resident their own household.
    Police, volunteers and devices check passes at the gate by scanning them, not by browsing the list.
    """
    return personal_scope(actor)


def may_list_visitors(actor: Principal) -> bool:
    """Whether the role reads any visitor passes at all (the 访客 area): as far as `visitor_scope`."""
    return may_read_residents(actor)


def require_visitor_visible(actor: Principal, where: Location) -> None:
    """A pass outside the scope is reported as not found (ids cannot be probed)."""
    if not visitor_scope(actor).covers(where):
        raise NotFound("访客通行证不存在", field="visitor_id")


def may_cancel_visitors(actor: Principal) -> bool:
    """Whether the actor's role cancels visitor passes at all (each pass is checked by
    `require_can_cancel_visitor`): residents their own household's, staff and admins their community's."""
    return actor.has_role(Role.ADMIN, Role.STAFF, Role.RESIDENT)


def require_can_cancel_visitor(actor: Principal, where: Location) -> None:
    """The inviting household and the community's staff and admins cancel; the rest only read."""
    require_visitor_visible(actor, where)
    if actor.is_system:
        return
    if actor.role is Role.RESIDENT and actor.household_id == where.household_id:
        return
    if actor.role in (Role.ADMIN, Role.STAFF) and where.community_id in actor.community_ids:
        return
    raise Forbidden("只有邀请的住户和社区工作人员可以撤销访客通行证")


def require_pass_manager(actor: Principal) -> None:
    """Revocations and home isolation records: staff and admins (and the platform); others 403."""
    if not actor.has_role(Role.ADMIN, Role.STAFF):
        raise Forbidden("只有社区工作人员可以管理通行码")


def manages_passes_of(actor: Principal, *, community_id: int | None) -> bool:
    """Whether a pass manager reaches this community."""
    return actor.is_system or community_id in actor.community_ids


def nonce_revocation_community(actor: Principal) -> int | None:
    """Where a revoked pass nonce applies: the community of the staff member who saw the pass, so
    nobody switches off passes at other communities' gates; the platform and installation-wide admins
    revoke everywhere (None). Someone working in several communities names the person or visitor
    pass instead, since a bare nonce does not say which community it belongs to."""
    if actor.is_system or not actor.community_ids:
        return None
    if len(actor.community_ids) > 1:
        raise Invalid("你在多个社区工作：请按居民（p:编号）或访客通行证（v:编号）撤销", field="ref")
    return next(iter(actor.community_ids))


def revocation_communities(actor: Principal, *, device_community: int | None = None) -> frozenset[int] | None:
    """The communities whose revocation entries the actor reads; None means all of them.

    Gate readers need the list to refuse revoked passes offline; the roles that work the gates read
    their communities' entries; a device token reads its gate's community; residents none (403).
    Entries of no community (a nonce revoked by the platform or an installation-wide admin) go to
    every reader.
    """
    if actor.is_system:
        return None
    if actor.role is Role.DEVICE:
        return frozenset({device_community}) if device_community is not None else frozenset()
    if actor.role is Role.SCREEN:
        raise Forbidden("大屏账号不读取吊销名单")
    require_can_view_gates(actor)
    return actor.community_ids


def require_can_watch(actor: Principal, *, community_id: int) -> None:
    """The plate watch list: police, staff and admins of the community."""
    if actor.is_system:
        return
    if actor.role in (Role.ADMIN, Role.STAFF, Role.POLICE) and community_id in actor.community_ids:
        return
    raise Forbidden("无权设置布控车辆")


def may_review_plates(actor: Principal) -> bool:
    """Reading unread plates from their snapshots: those who keep the gates' records (staff, admins,
    property companies, volunteers on gate duty); police, grid workers and the screen only look."""
    return actor.has_role(Role.ADMIN, Role.STAFF, Role.PROPERTY, Role.VOLUNTEER)


def require_unread_plate_visible(actor: Principal, *, community_id: int, compound_id: int) -> None:
    """An unread plate is gate data: outside the scope it is not found (ids cannot be probed)."""
    require_can_view_gates(actor)
    if not sees(actor, community_id=community_id, compound_id=compound_id):
        raise NotFound("待辨认车牌不存在", field="unread_id")


def require_can_review_plate(actor: Principal, *, community_id: int, compound_id: int) -> None:
    """Read or dismiss an unread plate in scope: the roles of `may_review_plates`; others 403."""
    require_unread_plate_visible(actor, community_id=community_id, compound_id=compound_id)
    if not may_review_plates(actor):
        raise Forbidden("只有社区工作人员、物业和门岗志愿者可以辨认车牌")
