"""Use cases of the case loop: take an action on a case (受理, 派遣, 到场, 处置, 核查, 结案, 退回, 重开 …),
merge a duplicate, escalate what fell due, remind people whose shift begins of what is open for them,
the time limits a community sets, whom a case may be dispatched to.

Every change is a step in the case's history and a row in the audit log, in the caller's transaction,
and is announced on the bus after the commit; the helpers that do so (`_step`, `_record`) are shared with
`reporting`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service import users
from jiayuan.accounts.service.audit import record_audit
from jiayuan.bus.bus import publish_on_commit
from jiayuan.cases import deadlines, policies, repository
from jiayuan.cases.events import CaseChanged
from jiayuan.cases.models import Case, CaseDeadline, CaseFollower, CaseStep
from jiayuan.cases.schemas import ActionIn, AssigneeOut, CaseOut, Category, DeadlineIn, DeadlineOut, MergeIn
from jiayuan.cases.service.reads import _out
from jiayuan.cases.service.uploads import _attach
from jiayuan.cases.states import CaseAction, CaseState, move
from jiayuan.duty.schemas import DutyRole, PlaceKind
from jiayuan.duty.service import on_duty
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.errors import Conflict, Invalid, NotFound
from jiayuan.kernel.i18n import Label, Labels
from jiayuan.kernel.principal import ROLE_LABELS, Principal, Role
from jiayuan.notify import service as notify
from jiayuan.notify.schemas import CaseNotice
from jiayuan.registry.service import directory

# How long after 结案 the reporter may still reopen a case (closed is not fixed).
REOPEN_DAYS = 7
_DISPATCHABLE = (Role.ADMIN, Role.STAFF, Role.GRID, Role.PROPERTY)


def _hand_up(session: Session, case: Case, now: datetime) -> tuple[str, bool]:
    """On escalation, hand the case to the person on duty at its new level of the chain grid worker →
    网格长 → 值班干部 → 社区书记 (the next one up when that post is empty); what was done (empty when
    nobody from there up is on duty), and whether it changed hands."""
    holder = on_duty.chain_holder(
        session, community_id=case.community_id, grid_id=case.grid_id, step=case.level, at=now
    )
    if holder is None:
        return "", False
    if holder.user_id == case.assignee_user_id:
        return f"仍由{holder.duty_role_label} {holder.user_name}处理", False
    case.assignee_user_id = holder.user_id
    return f"转交{holder.duty_role_label} {holder.user_name}", True


def _joined(*parts: str) -> str:
    return "；".join(p for p in parts if p)


def act(
    session: Session,
    *,
    actor: Principal,
    case_id: int,
    data: ActionIn,
    now: datetime | None = None,
    reopen_days: int = REOPEN_DAYS,
) -> CaseOut:
    """Take one action on a case: the state table decides where it goes, the policies who may. An action
    whose `request_id` this person already gave on the case was taken: the case is given back as it
    stands."""
    now = now or utcnow()
    case = policies.require_visible(actor, repository.case_by_id(session, case_id, lock=True))
    if data.request_id is not None and any(
        s.request_id == data.request_id and s.actor_user_id == actor.user_id for s in case.steps
    ):
        return _out(actor, case)
    current = CaseState(case.state)
    if case.merged_into_id is not None:
        raise Conflict("此事件已并入 #{id}，请在 #{id} 上跟进", field="action", id=case.merged_into_id)
    outcome = move(current, data.action)
    policies.require_action(actor, case, data.action, now=now, reopen_days=reopen_days)
    if data.action is CaseAction.RETURN and len(data.note) < 2:
        raise Invalid("退回须写明理由", field="note")
    if data.action is CaseAction.DISPATCH:
        policies.require_assignee(actor, data.assignee_user_id)
        # Without a choice the office confirms whom the roster already gave it to.
        case.assignee_user_id = _assignee(session, case, data.assignee_user_id or case.assignee_user_id)
    if data.action is CaseAction.HANDLE:
        case.handler_user_id = actor.user_id
    if data.action is CaseAction.REOPEN:
        case.closed_at = None
    if outcome.to is CaseState.CLOSED:
        case.closed_at = now
    case.level += 1 if outcome.escalates else 0
    case.state = outcome.to.value
    note, handed_on = data.note, False
    if outcome.escalates:
        handed, handed_on = _hand_up(session, case, now)
        note = _joined(note, handed)
    else:
        _set_due(session, case, now)
    step = _step(case, actor, current, data.action, outcome.to, note=note, at=now, request_id=data.request_id)
    _attach(session, actor, case, step, data.attachment_ids, now)
    told = data.action is CaseAction.DISPATCH or handed_on
    _record(session, actor, case, f"case.{data.action.value}", note=note, tell_assignee=told)
    return _out(actor, case)


def merge(session: Session, *, actor: Principal, case_id: int, data: MergeIn) -> CaseOut:
    """Close a duplicate report into the open case it repeats (same community): its reporter, and those
    who follow it, follow that case from now on and see its progress; both cases keep a step."""
    policies.require_merger(actor)
    duplicate = policies.require_visible(actor, repository.case_by_id(session, case_id))
    found = repository.case_by_id(session, data.into_case_id)
    if found is None or not policies.sees(actor, found):
        raise NotFound("事件 #{id} 不存在", field="into_case_id", id=data.into_case_id)
    target = found
    if target.id == duplicate.id:
        raise Invalid("不能并入自身", field="into_case_id")
    if duplicate.state == CaseState.CLOSED.value:
        raise Conflict("事件已结案，不能再合并", field="action")
    if target.state == CaseState.CLOSED.value:
        raise Conflict("#{id} 已结案；请并入未结案的事件，或先重开 #{id}", field="into_case_id", id=target.id)
    if target.community_id != duplicate.community_id:
        raise Invalid("只能并入同一社区的事件", field="into_case_id")
    now = utcnow()
    before = CaseState(duplicate.state)
    duplicate.state, duplicate.closed_at, duplicate.due_at = CaseState.CLOSED.value, now, None
    duplicate.merged_into_id = target.id
    following = {f.user_id for f in target.followers} | {target.reporter_user_id}
    for user_id in [duplicate.reporter_user_id, *(f.user_id for f in duplicate.followers)]:
        if user_id is not None and user_id not in following:
            target.followers.append(CaseFollower(user_id=user_id))
            following.add(user_id)
    said = _joined(f"重复上报，并入 #{target.id}", data.note)
    _step(duplicate, actor, before, CaseAction.MERGE, CaseState.CLOSED, note=said, at=now)
    _record(session, actor, duplicate, "case.merge", note=said)
    kept = CaseState(target.state)
    joined = _joined(f"并入重复上报 #{duplicate.id}", data.note)
    _step(target, actor, kept, CaseAction.MERGE, kept, note=joined, at=now)
    _record(session, actor, target, "case.merge", note=joined)
    return _out(actor, target)


def remind_shift_starts(session: Session, *, actor: Principal, now: datetime) -> int:
    """Tell everyone whose shift has begun what is open for them (a notice per shift, once, even after a
    restart: the roster records it); how many were told."""
    policies.require_system(actor)
    starting = on_duty.claim_starting(session, actor=actor, now=now)
    for shift in starting:
        total, first = repository.open_for_shift(
            session,
            user_id=shift.user_id,
            community_id=shift.community_id,
            grid_id=shift.place_id if shift.place_kind is PlaceKind.GRID else None,
            escalated=shift.duty_role in (DutyRole.CADRE, DutyRole.SECRETARY),
            limit=_REMINDER_LINES,
        )
        when = f"{local(shift.starts_at):%m月%d日 %H:%M} 至 {local(shift.ends_at):%H:%M}"
        lines = [
            f"您 {when} 在{shift.place_name}值班（{shift.duty_role.label}）。",
            f"待办事件 {total} 件：" if total else "目前没有待办事件。",
            *(_reminder_line(c, now) for c in first),
        ]
        if total > len(first):
            lines.append(f"……其余 {total - len(first)} 件请在事件页查看。")
        notify.personal(
            session,
            actor=actor,
            user_id=shift.user_id,
            community_id=shift.community_id,
            title=f"【上岗提醒】{shift.place_name} {shift.duty_role.label}",
            text="\n".join(lines),
            subject_type="duty_shift",
            subject_id=shift.shift_id,
        )
    return len(starting)


_REMINDER_LINES = 5


def _reminder_line(case: Case, now: datetime) -> str:
    late = "，已超时" if case.due_at is not None and case.due_at <= now else ""
    return f"#{case.id} {case.title}（{CaseState(case.state).label}{late}）"


def _set_due(session: Session, case: Case, since: datetime) -> None:
    overrides = repository.deadline_overrides(session, case.community_id)
    case.due_at = deadlines.due_at(Category(case.category), CaseState(case.state), since, overrides)


def escalate_overdue(session: Session, *, actor: Principal, now: datetime, limit: int = 100) -> int:
    """Escalate every open case whose step fell due: one level up, a step on record, due again after the
    same limit (it keeps escalating while nobody acts). How many were escalated."""
    policies.require_system(actor)
    overdue = repository.claim_overdue(session, now, limit)
    for case in overdue:
        state = CaseState(case.state)
        step = deadlines.DUE_STEP[state]
        case.level += 1
        handed, changed = _hand_up(session, case, now)
        note = _joined(f"超时未{step.label}", handed)
        _step(case, actor, state, CaseAction.ESCALATE, state, note=note, at=now)
        _record(session, actor, case, "case.escalate", note=note, tell_assignee=changed)
        _set_due(session, case, now)
    return len(overdue)


def deadline_table(session: Session, *, actor: Principal, community_id: int) -> list[DeadlineOut]:
    """Every category's limit for every step, as the community applies them."""
    policies.require_deadline_reader(actor, community_id)
    overrides = repository.deadline_overrides(session, community_id)
    return [_deadline_out(category, step, overrides) for category in Category for step in deadlines.DUE_STEPS]


def set_deadline(session: Session, *, actor: Principal, community_id: int, data: DeadlineIn) -> DeadlineOut:
    """A community's own limit for one step of one category; cases already open keep their due time."""
    policies.require_deadline_reader(actor, community_id)  # another community's reads as missing
    policies.require_deadline_editor(actor, community_id)
    if data.step not in deadlines.DUE_STEPS:
        raise Invalid(
            "“{step}”没有时限；可设时限的步骤：{steps}",
            field="step",
            step=Label(data.step.label),
            steps=Labels(s.label for s in deadlines.DUE_STEPS),
        )
    row = repository.deadline_row(session, community_id, data.category.value, data.step.value)
    if row is None:
        row = CaseDeadline(community_id=community_id, category=data.category.value, step=data.step.value)
        session.add(row)
    before = row.minutes
    row.minutes = data.minutes
    record_audit(
        session,
        actor=actor,
        action="case.deadline",
        target_type="case_deadline",
        target_label=f"{data.category.label} {data.step.label}",
        community_id=community_id,
        detail={"minutes": data.minutes, "before": before},
    )
    session.flush()
    return _deadline_out(data.category, data.step, repository.deadline_overrides(session, community_id))


def _deadline_out(category: Category, step: CaseAction, overrides: dict[tuple[str, str], int]) -> DeadlineOut:
    default = deadlines.DEFAULT_MINUTES[category][step]
    return DeadlineOut(
        category=category,
        category_label=category.label,
        step=step,
        step_label=step.label,
        minutes=overrides.get((category.value, step.value), default),
        default_minutes=default,
    )


def assignees(session: Session, *, actor: Principal, case_id: int) -> list[AssigneeOut]:
    """Whom the office may dispatch a case to: the active admins, staff, grid workers and property staff
    working in its community (the rule `act` checks a choice against), by username."""
    case = policies.require_visible(actor, repository.case_by_id(session, case_id))
    if not policies.may_take(actor, case, CaseAction.DISPATCH, now=utcnow(), reopen_days=REOPEN_DAYS):
        return []
    scopes = [(ScopeKind.COMMUNITY, case.community_id)]
    scopes += [(ScopeKind.GRID, g) for g in directory.community_grids(session, case.community_id)]
    scopes += [(ScopeKind.COMPOUND, c) for c in directory.community_compounds(session, case.community_id)]
    return [
        AssigneeOut(user_id=user_id, name=name, role_label=ROLE_LABELS[role])
        for user_id, name, role in users.active_users_in_scopes(session, scopes, _DISPATCHABLE)
    ]


def _assignee(session: Session, case: Case, user_id: int | None) -> int:
    """The person a case is dispatched to: an active account working in the case's community."""
    if user_id is None:
        raise Invalid("派遣须选择处置人", field="assignee_user_id")
    person = users.active_principal_by_id(session, user_id)
    if person is None or person.role not in _DISPATCHABLE:
        raise Invalid("处置人 #{id} 不存在", field="assignee_user_id", id=user_id)
    if case.community_id not in person.community_ids and not (
        case.grid_id is not None and case.grid_id in person.grid_ids
    ):
        raise Invalid("处置人 #{id} 不在本社区工作", field="assignee_user_id", id=user_id)
    return user_id


def _step(
    case: Case,
    actor: Principal,
    before: CaseState | None,
    action: CaseAction,
    after: CaseState,
    *,
    note: str,
    at: datetime | None = None,
    reported: bool = False,
    request_id: str | None = None,
) -> CaseStep:
    step = CaseStep(
        action="report" if reported else action.value,
        from_state=None if before is None else before.value,
        to_state=after.value,
        actor_user_id=actor.user_id,
        actor_name=actor.username[:64],
        actor_role=actor.role.value,
        at=at or utcnow(),
        note=note,
        detail={},
        request_id=request_id,
        attachments=[],
    )
    case.steps.append(step)
    return step


def _record(
    session: Session,
    actor: Principal,
    case: Case,
    action: str,
    *,
    note: str = "",
    tell_assignee: bool = False,
) -> None:
    """The audit row, the bus event after commit, and the outbox messages people are told by, all with
    the change itself."""
    record_audit(
        session,
        actor=actor,
        action=action,
        target_type="case",
        target_id=case.id,
        target_label=case.title,
        reason=note or None,
        community_id=case.community_id,
        detail={"state": case.state, "level": case.level},
    )
    publish_on_commit(
        session,
        CaseChanged(
            community_id=case.community_id,
            case_id=case.id,
            state=case.state,
            action=None if action == "case.report" else action.removeprefix("case."),
            level=case.level,
        ),
    )
    _announce(session, actor, case, action.removeprefix("case."), tell_assignee=tell_assignee)


def _announce(session: Session, actor: Principal, case: Case, action: str, *, tell_assignee: bool) -> None:
    """Tell the group robots and the person who has the case, in the case's own transaction, so a message
    goes out if and only if the change is kept."""
    if action not in notify.ANNOUNCED:
        return
    category, state = Category(case.category), CaseState(case.state)
    notify.case_changed(
        session,
        actor=actor,
        notice=CaseNotice(
            case_id=case.id,
            community_id=case.community_id,
            action=action,
            category_label=category.label,
            title=case.title,
            place=case.place_label,
            state_label=state.label,
            level=case.level,
            # In person: whoever has it now, after a dispatch or a hand-up, unless they did it themselves.
            assignee_user_id=case.assignee_user_id
            if tell_assignee and case.assignee_user_id != actor.user_id
            else None,
        ),
    )
