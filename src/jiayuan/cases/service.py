"""Use cases of the cases domain: raise a case, take an action on it, list and show cases.

Every change is a step in the case's history and a row in the audit log, in the caller's transaction,
and is announced on the bus after the commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service import record_audit
from jiayuan.bus.bus import publish_on_commit
from jiayuan.cases import attachments, deadlines, policies, repository
from jiayuan.cases.events import CaseChanged
from jiayuan.cases.models import Case, CaseAttachment, CaseDeadline, CaseFollower, CaseStep
from jiayuan.cases.schemas import (
    ALARM_CATEGORIES,
    PLATFORM_REPORTER,
    ActionIn,
    AlarmCase,
    AssigneeOut,
    AttachmentOut,
    CaseFilter,
    CaseIn,
    CaseOut,
    CasePage,
    Category,
    DeadlineIn,
    DeadlineOut,
    MergeIn,
    Source,
    StepOut,
)
from jiayuan.cases.states import CaseAction, CaseState, allowed, move
from jiayuan.devices.service import snapshots
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.duty.schemas import DutyRole, PlaceKind
from jiayuan.duty.service import on_duty
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.errors import Conflict, Invalid, NotFound, TooManyRequests
from jiayuan.kernel.i18n import Label, Labels
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import ROLE_LABELS, Principal, Role
from jiayuan.notify import service as notify
from jiayuan.notify.schemas import CaseNotice
from jiayuan.registry.service import directory

# How long after 结案 the reporter may still reopen a case (closed is not fixed).
REOPEN_DAYS = 7
_SOURCES = {Role.RESIDENT: Source.RESIDENT, Role.GRID: Source.GRID}
# An upload is given with a report or an action within a day; one person keeps at most this many waiting.
ATTACHMENT_WAIT = timedelta(days=1)
MAX_WAITING_UPLOADS = 30
# The board counts at most this many matching cases (narrow by filters beyond).
BOARD_COUNT_CAP = 10_000
_DISPATCHABLE = (Role.ADMIN, Role.STAFF, Role.GRID, Role.PROPERTY)


def report_case(session: Session, *, actor: Principal, data: CaseIn, source: Source | None = None) -> CaseOut:
    """Raise a case at a household (a resident: their own) or in a community, as 上报; the same
    `request_id` sent again by the same person gives back the case it raised."""
    policies.require_reporter(actor)
    if data.request_id is not None and actor.user_id is not None:
        sent = repository.case_by_request(session, actor.user_id, data.request_id)
        if sent is not None:
            return _out(actor, sent)
    if actor.role is Role.RESIDENT:
        _limit_resident(session, actor, data.category)
    case = Case(
        category=data.category.value,
        source=(source or _SOURCES.get(actor.role, Source.STAFF)).value,
        title=data.title,
        description=data.description,
        state=CaseState.REPORTED.value,
        level=0,
        reporter_user_id=actor.user_id,
        reporter_name=actor.username[:64],
        request_id=data.request_id if actor.user_id is not None else None,
        steps=[],
    )
    _place(session, actor, case, data)
    if case.request_id is None:
        _open(session, actor, case, attachment_ids=data.attachment_ids)
        return _out(actor, case)
    try:
        with session.begin_nested():  # the same report sent twice at once: the second finds the first
            _open(session, actor, case, attachment_ids=data.attachment_ids)
    except IntegrityError:
        sent = repository.case_by_request(session, case.reporter_user_id or 0, case.request_id)
        if sent is None:
            raise
        return _out(actor, sent)
    return _out(actor, case)


# A resident raises at most this many cases an hour (each one rings a worker's phone and climbs the chain).
RESIDENT_REPORTS_PER_HOUR = 10
# What only a gate or camera raises: a resident's report is a report, or 一键报警.
_DEVICE_CATEGORIES = frozenset(ALARM_CATEGORIES.values()) - {Category.SOS}


def _limit_resident(session: Session, actor: Principal, category: Category) -> None:
    if category in _DEVICE_CATEGORIES:
        raise Invalid(
            "“{category}”由门岗设备告警生成，居民不能上报；请选择其他类别",
            field="category",
            category=Label(category.label),
        )
    since = utcnow() - timedelta(hours=1)
    if repository.reported_since(session, actor.user_id, since) >= RESIDENT_REPORTS_PER_HOUR:
        raise TooManyRequests(
            "一小时内最多上报 {n} 件；紧急情况请拨打 110 或联系社区",
            field="category",
            n=RESIDENT_REPORTS_PER_HOUR,
        )


def report_from_patrol(
    session: Session,
    *,
    actor: Principal,
    category: Category,
    title: str,
    description: str,
    device_id: str,
    evidence: dict[str, Any],
) -> CaseOut:
    """Raise a case for what a video patrol saw on a camera (source patrol), at the camera's gate, with
    the picture the patroller saw as its evidence."""
    policies.require_patrol_reporter(actor)
    device = directory.devices_by_ids(session, [device_id]).get(device_id)
    if (
        device is None
        or device.community_id is None
        or not policies.reaches_community(actor, device.community_id)
    ):
        raise Invalid("摄像机 {device} 不存在", field="device_id", device=device_id)
    case = Case(
        category=category.value,
        source=Source.PATROL.value,
        title=title,
        description=description,
        state=CaseState.REPORTED.value,
        level=0,
        community_id=device.community_id,
        compound_id=device.compound_id,
        place_label=f"{device.gate_name or ''} {device.name}".strip()[:128],
        gate_id=device.gate_id,
        device_id=device.id,
        evidence=evidence,
        reporter_user_id=actor.user_id,
        reporter_name=actor.username[:64],
        steps=[],
    )
    _open(session, actor, case, said=description)
    return _out(actor, case)


def open_from_alarms(session: Session, *, actor: Principal, alarms: Sequence[AlarmCase]) -> list[int]:
    """Open a case (上报, source gate) for each alarm that has none yet, carrying its gate, device and
    evidence, in the transaction that raised the alarms; the ids of the new cases. Alarms of devices
    registered in no community, and types that are no case, are passed over."""
    policies.require_system(actor)
    wanted = [a for a in alarms if a.community_id is not None and a.type in ALARM_CATEGORIES]
    known = repository.alarms_with_cases(session, [a.alarm_id for a in wanted])
    opened = []
    for alarm in wanted:
        if alarm.alarm_id in known:
            continue
        category = ALARM_CATEGORIES[alarm.type]
        assert alarm.community_id is not None
        evidence = dict(alarm.evidence)
        if "snapshot" not in evidence and alarm.gate_id is not None:
            # A button or reader sends no picture: the gate's camera shows what happened.
            near = snapshots.nearest_at_gate(
                session, actor=actor, gate_id=alarm.gate_id, at=alarm.raised_at or utcnow()
            )
            if near is not None:
                evidence["snapshot_device"], evidence["snapshot"] = near
        case = Case(
            category=category.value,
            source=Source.GATE.value,
            title=f"{category.label}：{alarm.summary}"[:64],
            description=alarm.summary,
            state=CaseState.REPORTED.value,
            level=0,
            community_id=alarm.community_id,
            compound_id=alarm.compound_id,
            place_label=alarm.summary[:128],
            alarm_id=alarm.alarm_id,
            gate_id=alarm.gate_id,
            device_id=alarm.device_id,
            evidence=evidence,
            reporter_name=PLATFORM_REPORTER,
            steps=[],
        )
        _open(session, actor, case, said=alarm.summary)
        opened.append(case.id)
    return opened


def _dispatch(session: Session, case: Case, now: datetime) -> str:
    """Hand a new case to the grid worker (else the 网格长) on duty at its grid and tell the cadre on
    duty; what was done (empty when nobody is on the roster: the office dispatches by hand as before)."""
    found = on_duty.dispatch_for(session, community_id=case.community_id, grid_id=case.grid_id, at=now)
    if found.worker is None and found.cadre is None:
        return ""
    parts = []
    if found.worker is not None:
        case.assignee_user_id = found.worker.user_id
        parts.append(f"按值班表派给{found.worker.duty_role_label} {found.worker.user_name}")
    else:
        parts.append("网格无人值班，待人工派遣")
    if found.cadre is not None:
        case.cadre_user_id = found.cadre.user_id
        parts.append(f"值班干部 {found.cadre.user_name}")
    return "；".join(parts)


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


def _open(
    session: Session, actor: Principal, case: Case, *, said: str = "", attachment_ids: Sequence[int] = ()
) -> None:
    """Store a new case as 上报: its time limit, the person on duty it goes to, its first step (with the
    photos and voice notes given) and audit row. A case at a gate or camera (no household) lies in the
    grid of its compound."""
    if case.grid_id is None and case.household_id is None and case.compound_id is not None:
        grids = directory.compound_grids(session, case.compound_id)
        case.grid_id = min(grids) if grids else None
    now = utcnow()
    _set_due(session, case, now)
    session.add(case)
    session.flush()
    dispatched = _dispatch(session, case, now)
    note = _joined(said, dispatched)
    step = _step(case, actor, None, CaseAction.ACCEPT, CaseState.REPORTED, note=note, reported=True)
    _attach(session, actor, case, step, attachment_ids, now)
    _record(session, actor, case, "case.report", note=dispatched, tell_assignee=True)


def _place(session: Session, actor: Principal, case: Case, data: CaseIn) -> None:
    """Where the case is, from the registry; a place out of reach reads as one that does not exist."""
    household_id = actor.household_id if actor.role is Role.RESIDENT else data.household_id
    if actor.role is Role.RESIDENT and household_id is None:
        raise Invalid("您的账号尚未绑定住户，不能上报", field="household_id")
    if household_id is not None:
        place = directory.household_places(session, [household_id]).get(household_id)
        if place is None or not _reaches(actor, place.community_id, place.compound_id, place.grid_ids):
            raise Invalid("户 #{id} 不存在", field="household_id", id=household_id)
        case.community_id, case.compound_id, case.household_id = (
            place.community_id,
            place.compound_id,
            place.id,
        )
        case.grid_id = min(place.grid_ids) if place.grid_ids else None
        case.place_label = f"{place.compound_name} {place.label}" + (f" · {data.place}" if data.place else "")
        return
    if data.community_id is None:
        raise Invalid("请填写所在户或所在社区", field="household_id")
    if not (actor.is_system or data.community_id in actor.community_ids):
        raise Invalid("社区 #{id} 不存在", field="community_id", id=data.community_id)
    case.community_id = data.community_id
    case.place_label = data.place


def _reaches(actor: Principal, community_id: int, compound_id: int, grid_ids: frozenset[int]) -> bool:
    if actor.is_system or actor.role is Role.RESIDENT:
        return True  # a resident's household is their own (taken from the account above)
    if actor.role is Role.GRID:
        return bool(grid_ids & actor.grid_ids)
    if actor.role is Role.PROPERTY:
        return compound_id in actor.compound_ids
    return community_id in actor.community_ids


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


@dataclass(frozen=True)
class AttachmentFile:
    """A stored photo or voice note as it is sent to a browser."""

    content_type: str
    data: bytes


def upload_attachment(session: Session, *, actor: Principal, data: bytes) -> AttachmentOut:
    """Keep a photo or voice note (made safe by `attachments.accept`) for the uploader to give with a
    report or an action within a day."""
    policies.require_uploader(actor)
    now = utcnow()
    if repository.waiting_uploads(session, actor.user_id, since=now - ATTACHMENT_WAIT) >= MAX_WAITING_UPLOADS:
        raise TooManyRequests(
            "已有 {n} 个文件等待提交；请先提交上报或操作", field="file", n=MAX_WAITING_UPLOADS
        )
    accepted = attachments.accept(data)
    row = CaseAttachment(
        uploader_user_id=actor.user_id,
        kind=accepted.kind.value,
        content_type=accepted.content_type,
        size=len(accepted.data),
        sha256=hashlib.sha256(accepted.data).hexdigest(),
        uploaded_at=now,
        data=accepted.data,
    )
    session.add(row)
    session.flush()
    return _attachment_out(row)


def attachment_file(session: Session, *, actor: Principal, attachment_id: int) -> AttachmentFile:
    """A photo or voice note for whoever sees its case (before it is given: for its uploader only)."""
    policies.require_reader(actor)
    row = repository.attachment_by_id(session, attachment_id)
    if row is None or not (
        policies.sees(actor, row.case)
        and policies.shows_details(actor, row.case)
        and actor.role is not Role.SCREEN
        if row.case is not None
        else actor.user_id is not None and row.uploader_user_id == actor.user_id
    ):
        raise NotFound("附件不存在", field="attachment_id")  # out of reach reads as missing
    return AttachmentFile(content_type=row.content_type, data=row.data)


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


def drop_waiting_uploads(session: Session, *, actor: Principal, now: datetime) -> int:
    """Drop the uploads never given with a report or an action within a day; how many."""
    policies.require_system(actor)
    return repository.delete_waiting(session, before=now - ATTACHMENT_WAIT)


def _attach(
    session: Session, actor: Principal, case: Case, step: CaseStep, ids: Sequence[int], now: datetime
) -> None:
    """Bind the actor's own uploads, not yet given and under a day old, to the case and step."""
    if not ids:
        return
    found = repository.waiting_attachments(session, ids, actor.user_id, since=now - ATTACHMENT_WAIT)
    missing = [i for i in dict.fromkeys(ids) if i not in found]
    if missing:
        raise Invalid(
            "附件 #{id} 不存在、已过期或已提交过；请重新上传", field="attachment_ids", id=missing[0]
        )
    session.flush()  # the step's id
    for attachment_id in dict.fromkeys(ids):
        row = found[attachment_id]
        row.case_id, row.step_id = case.id, step.id
        step.attachments.append(row)


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
        for user_id, name, role in accounts.active_users_in_scopes(session, scopes, _DISPATCHABLE)
    ]


def _assignee(session: Session, case: Case, user_id: int | None) -> int:
    """The person a case is dispatched to: an active account working in the case's community."""
    if user_id is None:
        raise Invalid("派遣须选择处置人", field="assignee_user_id")
    person = accounts.active_principal_by_id(session, user_id)
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


def list_cases(
    session: Session,
    *,
    actor: Principal,
    params: PageParams,
    filters: CaseFilter | None = None,
) -> CasePage:
    """The cases within the actor's reach, newest first, narrowed by `filters`; counted up to
    BOARD_COUNT_CAP."""
    policies.require_reader(actor)
    where = repository.reach(actor) & repository.narrowed(filters or CaseFilter(), actor, utcnow())
    query = repository.cases_where(where)
    rows = session.scalars(query.offset(params.offset).limit(params.size)).all()
    assigned = {c.assignee_user_id for c in rows if c.assignee_user_id is not None}
    names = accounts.display_names(session, sorted(assigned)) if assigned else {}
    total = repository.count(session, query, cap=BOARD_COUNT_CAP)
    return CasePage(
        items=[
            _out(actor, c, with_steps=False).model_copy(
                update={"assignee_name": names.get(c.assignee_user_id) if c.assignee_user_id else None}
            )
            for c in rows
        ],
        total=min(total, BOARD_COUNT_CAP),
        total_exact=total <= BOARD_COUNT_CAP,
        page=params.page,
        size=params.size,
    )


def count_by_state(session: Session, *, actor: Principal) -> dict[CaseState, int]:
    """How many cases within the actor's reach stand in each state (every state named, 0 when none)."""
    policies.require_reader(actor)
    found = repository.counts_by_state(session, repository.reach(actor))
    return {state: found.get(state.value, 0) for state in CaseState}


def show_case(session: Session, *, actor: Principal, case_id: int) -> CaseOut:
    """One case with its history, and the names of the person it is with and of the cadre on duty."""
    case = _out(actor, policies.require_visible(actor, repository.case_by_id(session, case_id)))
    ids = [i for i in (case.assignee_user_id, case.cadre_user_id) if i is not None]
    names = accounts.display_names(session, ids) if ids else {}
    return case.model_copy(
        update={
            "assignee_name": names.get(case.assignee_user_id) if case.assignee_user_id else None,
            "cadre_name": names.get(case.cadre_user_id) if case.cadre_user_id else None,
        }
    )


def _attachment_out(row: CaseAttachment) -> AttachmentOut:
    kind = attachments.AttachmentKind(row.kind)
    return AttachmentOut(
        id=row.id,
        kind=kind,
        kind_label=kind.label,
        content_type=row.content_type,
        size=row.size,
        url=f"/api/v1/cases/attachments/{row.id}",
    )


def _out(actor: Principal, case: Case, *, with_steps: bool = True) -> CaseOut:
    state = CaseState(case.state)
    category = Category(case.category)
    # Someone who only follows the case (their duplicate was merged into it) sees how far it has got.
    details = policies.shows_details(actor, case)
    steps = [
        StepOut(
            action=CaseAction.ACCEPT if s.action == "report" else CaseAction(s.action),
            from_state=None if s.from_state is None else CaseState(s.from_state),
            to_state=CaseState(s.to_state),
            actor_name=s.actor_name,
            actor_role=s.actor_role,
            at=s.at,
            note=s.note if details else "",
            attachments=[_attachment_out(a) for a in s.attachments] if details else [],
        )
        for s in (case.steps if with_steps else ())
    ]
    return CaseOut(
        id=case.id,
        category=category,
        category_label=category.label,
        source=Source(case.source),
        title=case.title if details else f"{category.label}（与您的上报合并办理）",
        description=case.description if details else "",
        state=state,
        state_label=state.label,
        level=case.level,
        community_id=case.community_id,
        compound_id=case.compound_id,
        household_id=case.household_id if details else None,
        grid_id=case.grid_id,
        place=case.place_label if details else "",
        gate_id=case.gate_id,
        device_id=case.device_id,
        evidence=case.evidence if details else {},
        reporter_name=case.reporter_name if policies.shows_reporter(actor, case) else None,
        assignee_user_id=case.assignee_user_id,
        cadre_user_id=case.cadre_user_id,
        reported_at=case.reported_at,
        closed_at=case.closed_at,
        due_at=case.due_at,
        overdue=case.due_at is not None and case.due_at <= utcnow(),
        merged_into_id=case.merged_into_id,
        allowed=[] if case.merged_into_id is not None else allowed(state),
        steps=steps,
    )


def evidence_snapshot(session: Session, *, actor: Principal, files: SnapshotFiles, case_id: int) -> bytes:
    """The camera snapshot a gate or camera case carries, for whoever sees the case: the worker it is
    handed to sees its evidence even when their scope (a grid) does not cover the gate's cameras."""
    case = policies.require_visible(actor, repository.case_by_id(session, case_id))
    evidence = (case.evidence or {}) if policies.shows_details(actor, case) else {}
    snapshot, camera = evidence.get("snapshot"), evidence.get("snapshot_device") or case.device_id
    if not isinstance(snapshot, str) or not isinstance(camera, str):
        raise NotFound("该事件没有抓拍图", field="case_id")
    # The case's own scope was checked above; the picture is read as the platform, from the camera that
    # took it (the alarm's own device, or the gate camera nearest the alarm).
    return snapshots.snapshot_image(
        session, actor=Principal.system(), files=files, device_id=camera, snapshot_id=snapshot
    )
