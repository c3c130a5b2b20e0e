"""Who may see, raise and move which case.

A case reaches as far as the place it is at: admins and staff their communities, grid workers their
grids, property companies their compounds; a resident sees the cases they reported (and those their
duplicate reports were merged into) and those their household's members raised from home (never staff's
cases about their flat, nor who reported). Accepting,
dispatching, closing, sending back and escalating are the office's (admins and staff); going on site
and handling are also the assigned worker's and the grid's; 核查 is never done by the person who
handled the case. The reporter may reopen a closed case within a number of days. Out of scope reads as
"does not exist", so case ids cannot be probed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from jiayuan.cases.models import Case
from jiayuan.cases.schemas import Source
from jiayuan.cases.states import CaseAction
from jiayuan.kernel.errors import Forbidden, NotFound
from jiayuan.kernel.principal import Principal, Role

_OFFICE = (Role.ADMIN, Role.STAFF)
_FIELD = (Role.ADMIN, Role.STAFF, Role.GRID)
_REPORTERS = (Role.ADMIN, Role.STAFF, Role.GRID, Role.PROPERTY, Role.RESIDENT)
# The office screen shows its communities' cases (never who reported them) and acts on none.
_READERS = (*_REPORTERS, Role.SCREEN)
_NOT_FOUND = "事件不存在"


def sees(actor: Principal, case: Case) -> bool:
    """Whether the case is inside the actor's reach."""
    if actor.is_system:
        return True
    if actor.role in _OFFICE or actor.role is Role.SCREEN:
        return case.community_id in actor.community_ids
    if actor.role is Role.GRID:
        return case.grid_id is not None and case.grid_id in actor.grid_ids
    if actor.role is Role.PROPERTY:
        return case.compound_id is not None and case.compound_id in actor.compound_ids
    if actor.role is Role.RESIDENT:
        return is_reporter(actor, case) or (
            actor.household_id is not None
            and case.household_id == actor.household_id
            and case.source == Source.RESIDENT.value
        )
    return False


def is_reporter(actor: Principal, case: Case) -> bool:
    """Whether the actor reported the case, or a duplicate of it merged into it."""
    return actor.user_id is not None and (
        case.reporter_user_id == actor.user_id or any(f.user_id == actor.user_id for f in case.followers)
    )


def may_merge(actor: Principal) -> bool:
    """Duplicates are merged by the office."""
    return actor.is_system or actor.role in _OFFICE


def require_merger(actor: Principal) -> None:
    """Refuse a merge to anyone but the office."""
    if not may_merge(actor):
        raise Forbidden("只有社区工作人员可以合并重复上报", field="action")


def require_system(actor: Principal) -> None:
    """Cases from gate and camera alarms are opened by the platform itself."""
    if not actor.is_system:
        raise Forbidden("只有平台可以由告警生成事件")


def may_read(actor: Principal) -> bool:
    """Whether the role sees any cases at all (the 事件 area)."""
    return actor.is_system or actor.role in _READERS


def reads_whole_community(actor: Principal) -> bool:
    """Whether the actor sees every case of their communities (the office and its screen), so a stream
    of their communities' case changes shows them nothing they could not list."""
    return actor.is_system or actor.role in _OFFICE or actor.role is Role.SCREEN


def require_reader(actor: Principal) -> None:
    """Roles with no cases at all are refused outright (police and volunteers get shared cases later)."""
    if not may_read(actor):
        raise Forbidden("该角色无权查看事件")


def require_visible(actor: Principal, case: Case | None) -> Case:
    """The case, or NotFound for a missing one and for one out of reach alike."""
    require_reader(actor)
    if case is None or not sees(actor, case):
        raise NotFound(_NOT_FOUND, field="case_id")
    return case


def require_reporter(actor: Principal) -> None:
    """Who may raise a case (the platform raises gate and camera alarms as the system)."""
    if not (actor.is_system or actor.role in _REPORTERS):
        raise Forbidden("该角色不能上报事件")


def require_patrol_reporter(actor: Principal) -> None:
    """What a video patrol finds is raised by whoever made the round (volunteers patrol too)."""
    if not (actor.is_system or actor.role in _REPORTERS or actor.role is Role.VOLUNTEER):
        raise Forbidden("该角色不能上报事件")


def require_uploader(actor: Principal) -> None:
    """Photos and voice notes come from whoever may report or act on a case (a person, not a device)."""
    if actor.user_id is None or actor.role not in (*_REPORTERS, Role.VOLUNTEER):
        raise Forbidden("该角色不能上传事件照片或语音")


def reaches_community(actor: Principal, community_id: int) -> bool:
    """Whether a place in this community lies in the actor's communities."""
    return actor.is_system or community_id in actor.community_ids


def shows_reporter(actor: Principal, case: Case) -> bool:
    """The reporter's identity is for the office, the assigned worker and the reporter only."""
    return (
        actor.is_system
        or actor.role in _OFFICE
        or (actor.user_id is not None and actor.user_id in (case.assignee_user_id, case.reporter_user_id))
    )


def may_take(actor: Principal, case: Case, action: CaseAction, *, now: datetime, reopen_days: int) -> bool:
    """Whether the actor may take `action` on a case it sees (the state is checked by `states`)."""
    if actor.is_system or actor.role in _OFFICE:
        return True
    if action is CaseAction.REOPEN:
        window = case.closed_at is not None and now - case.closed_at <= timedelta(days=reopen_days)
        return is_reporter(actor, case) and window
    if action in (CaseAction.ARRIVE, CaseAction.HANDLE, CaseAction.VERIFY):
        return actor.role in _FIELD or (actor.user_id is not None and actor.user_id == case.assignee_user_id)
    return False


def require_action(
    actor: Principal, case: Case, action: CaseAction, *, now: datetime, reopen_days: int
) -> None:
    """Refuse an action the actor may not take, and a 核查 by the person who handled the case."""
    if not may_take(actor, case, action, now=now, reopen_days=reopen_days):
        if action is CaseAction.REOPEN and is_reporter(actor, case):
            raise Forbidden(f"结案超过 {reopen_days} 天，不能再重开；如问题仍在，请重新上报", field="action")
        raise Forbidden(f"您不能对此事件执行“{action.label}”", field="action")
    if action is CaseAction.VERIFY and actor.user_id is not None and actor.user_id == case.handler_user_id:
        raise Forbidden("核查须由处置人以外的人进行", field="action")


def require_deadline_editor(actor: Principal, community_id: int) -> None:
    """A community's admins set its time limits (others read them)."""
    if not (actor.is_system or (actor.role is Role.ADMIN and community_id in actor.community_ids)):
        raise Forbidden("只有本社区的管理员可以修改时限", field="community_id")


def require_deadline_reader(actor: Principal, community_id: int) -> None:
    """The office of a community reads its limits; another community's read like a missing one."""
    if not (actor.is_system or (actor.role in _OFFICE and community_id in actor.community_ids)):
        raise NotFound("社区不存在", field="community_id")
