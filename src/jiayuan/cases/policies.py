"""Who may see, raise and move which case.

A case reaches as far as the place it is at: admins and staff their communities, grid workers their
grids; a resident sees the cases they reported themselves, and follows (status only: `shows_details`)
those their duplicate reports were merged into; never their family's reports (a report about a
neighbour or a relative is the reporter's alone), nor staff's cases about their flat. Police and
property accounts see only what the office shared with them for a stated purpose (协查, 维修 …) and not
yet revoked, plus what property reported itself or was dispatched; only an account working in the
case's community can be shared with.
`reach_of` states this rule once: `sees` applies it to a loaded case, `repository.reach` to a query.

Accepting, dispatching, closing, sending back and escalating are the office's (admins and staff), except
that the grid worker a case was handed to takes it on from the phone: accepts it and confirms it as
theirs (a dispatch to the same person); going on site and handling are also the assigned worker's and
the grid's; 核查 is never done by the person who handled the case. The reporter may reopen a closed case
within a number of days. Out of scope reads as "does not exist", so case ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from jiayuan.cases.models import Case
from jiayuan.cases.states import CaseAction
from jiayuan.kernel.errors import Forbidden, Invalid, NotFound
from jiayuan.kernel.i18n import N_, Label
from jiayuan.kernel.principal import Principal, Role

_OFFICE = (Role.ADMIN, Role.STAFF)
_FIELD = (Role.ADMIN, Role.STAFF, Role.GRID)
_REPORTERS = (Role.ADMIN, Role.STAFF, Role.GRID, Role.PROPERTY, Role.RESIDENT)
# Accounts outside the office that see only the cases shared with them.
SHARE_ROLES = (Role.POLICE, Role.PROPERTY)
# The office screen shows its communities' cases (never who reported them) and acts on none.
_READERS = (*_REPORTERS, Role.SCREEN, Role.POLICE)
_NOT_FOUND = N_("事件不存在")


@dataclass(frozen=True)
class Reach:
    """Which cases an actor sees: every case, or those matching any one of the parts that are set."""

    everything: bool = False
    communities: frozenset[int] = frozenset()
    grids: frozenset[int] = frozenset()
    reported_by: int | None = None
    assigned_to: int | None = None
    # Shared with this account (a share not revoked).
    shared_with: int | None = None


def reach_of(actor: Principal) -> Reach:
    """The one rule of which cases an actor sees."""
    if actor.is_system:
        return Reach(everything=True)
    if actor.role in _OFFICE or actor.role is Role.SCREEN:
        return Reach(communities=actor.community_ids)
    if actor.role is Role.GRID:
        return Reach(grids=actor.grid_ids)
    if actor.role in SHARE_ROLES and actor.user_id is not None:
        own = actor.user_id if actor.role is Role.PROPERTY else None
        return Reach(reported_by=own, assigned_to=own, shared_with=actor.user_id)
    if actor.role is Role.RESIDENT and actor.user_id is not None:
        return Reach(reported_by=actor.user_id)
    return Reach()


def sees(actor: Principal, case: Case) -> bool:
    """Whether the case is inside the actor's reach (`reach_of` applied to a loaded case)."""
    rule = reach_of(actor)
    return (
        rule.everything
        or case.community_id in rule.communities
        or (case.grid_id is not None and case.grid_id in rule.grids)
        or (rule.reported_by is not None and _reported_by(case, rule.reported_by))
        or (rule.assigned_to is not None and case.assignee_user_id == rule.assigned_to)
        or (
            rule.shared_with is not None
            and any(s.user_id == rule.shared_with and s.revoked_at is None for s in case.shares)
        )
    )


def _reported_by(case: Case, user_id: int) -> bool:
    """Reported by this person, or by them in a duplicate merged into it (they follow it)."""
    return case.reporter_user_id == user_id or any(f.user_id == user_id for f in case.followers)


def shows_details(actor: Principal, case: Case) -> bool:
    """Whether the actor reads what a case says (its text, place, evidence, photos and step notes), not
    only how far it has got: everyone who sees it, except a resident who only follows it because their
    duplicate report was merged into it (it may be another household's)."""
    return not (actor.role is Role.RESIDENT and case.reporter_user_id != actor.user_id)


def is_reporter(actor: Principal, case: Case) -> bool:
    """Whether the actor reported the case, or a duplicate of it merged into it."""
    return actor.user_id is not None and _reported_by(case, actor.user_id)


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
    """Roles with no cases at all (volunteers, devices) are refused outright."""
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
    if action is CaseAction.REOPEN and not actor.has_role(*_OFFICE):
        window = case.closed_at is not None and now - case.closed_at <= timedelta(days=reopen_days)
        return is_reporter(actor, case) and window
    return may_work_on(actor, action, assignee_user_id=case.assignee_user_id)


def may_work_on(actor: Principal, action: CaseAction, *, assignee_user_id: int | None) -> bool:
    """Whether the actor may take a step of the loop other than reopening on a case assigned to this
    user: the office any; a grid worker accepts what is handed to them; the field goes on site."""
    if actor.has_role(*_OFFICE):
        return True
    mine = actor.user_id is not None and actor.user_id == assignee_user_id
    if action in (CaseAction.ACCEPT, CaseAction.DISPATCH):
        return actor.role is Role.GRID and mine
    if action in (CaseAction.ARRIVE, CaseAction.HANDLE, CaseAction.VERIFY):
        return actor.role in _FIELD or mine
    return False


def require_action(
    actor: Principal, case: Case, action: CaseAction, *, now: datetime, reopen_days: int
) -> None:
    """Refuse an action the actor may not take, and a 核查 by the person who handled the case."""
    if not may_take(actor, case, action, now=now, reopen_days=reopen_days):
        if action is CaseAction.REOPEN and is_reporter(actor, case):
            raise Forbidden(
                "结案超过 {days} 天，不能再重开；如问题仍在，请重新上报", field="action", days=reopen_days
            )
        raise Forbidden("您不能对此事件执行“{action}”", field="action", action=Label(action.label))
    if action is CaseAction.VERIFY and actor.user_id is not None and actor.user_id == case.handler_user_id:
        raise Forbidden("核查须由处置人以外的人进行", field="action")


def require_assignee(actor: Principal, assignee_user_id: int | None) -> None:
    """A grid worker's dispatch only confirms a case handed to them as their own: they hand no one work."""
    if actor.role is Role.GRID and assignee_user_id not in (None, actor.user_id):
        raise Forbidden("网格员只能确认由本人处置，不能派给他人", field="assignee_user_id")


def may_edit_deadlines(actor: Principal, community_id: int) -> bool:
    """A community's admins set its time limits (others read them)."""
    return actor.is_system or (actor.role is Role.ADMIN and community_id in actor.community_ids)


def require_deadline_editor(actor: Principal, community_id: int) -> None:
    """Refuse a change of a community's limits to anyone but its admins."""
    if not may_edit_deadlines(actor, community_id):
        raise Forbidden("只有本社区的管理员可以修改时限", field="community_id")


def require_deadline_reader(actor: Principal, community_id: int) -> None:
    """The office of a community reads its limits; another community's read like a missing one."""
    if not (actor.is_system or (actor.role in _OFFICE and community_id in actor.community_ids)):
        raise NotFound("社区不存在", field="community_id")


def require_sharer(actor: Principal, case: Case) -> None:
    """The office of the case's community shares it and revokes shares (others read it as missing)."""
    if not (actor.is_system or (actor.role in _OFFICE and case.community_id in actor.community_ids)):
        raise NotFound(_NOT_FOUND, field="case_id")


def may_share(actor: Principal) -> bool:
    """Whether the actor shares cases at all (the console shows the form)."""
    return actor.is_system or actor.role in _OFFICE


def require_share_target(
    target: Principal | None, works_in: frozenset[int], community_id: int, user_id: int
) -> Principal:
    """A case is shared only with an active police or property account working in its community
    (`works_in`: the account's communities, those of a property company's compounds included)."""
    if target is None or target.role not in SHARE_ROLES or community_id not in works_in:
        raise Invalid("账号 #{id} 不是本社区的民警或物业", field="user_id", id=user_id)
    return target


def may_read_stats(actor: Principal) -> bool:
    """Statistics are the office's (its communities) and grid workers' (their grids); accounts that see
    single shared cases or their own reports get none."""
    return actor.is_system or actor.role in _FIELD


def require_stats_reader(actor: Principal) -> None:
    """Refuse statistics to roles without them."""
    if not may_read_stats(actor):
        raise Forbidden("该角色无权查看事件统计")
