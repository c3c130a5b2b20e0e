"""Use cases of raising a case: a report by a resident, a worker or the office (上报), a video patrol's
finding, a gate alarm; each stored as 上报 with its time limit and handed to whoever is on duty.

Every change is a step in the case's history and a row in the audit log, in the caller's transaction,
and is announced on the bus after the commit (`workflow._record`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiayuan.cases import policies, repository
from jiayuan.cases.models import Case
from jiayuan.cases.schemas import (
    ALARM_CATEGORIES,
    PLATFORM_REPORTER,
    AlarmCase,
    CaseIn,
    CaseOut,
    Category,
    Source,
)
from jiayuan.cases.service.reads import _out
from jiayuan.cases.service.uploads import _attach
from jiayuan.cases.service.workflow import _joined, _record, _set_due, _step
from jiayuan.cases.states import CaseAction, CaseState
from jiayuan.devices.service import snapshots
from jiayuan.duty.service import on_duty
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Invalid, TooManyRequests
from jiayuan.kernel.i18n import Label
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.service import directory

_SOURCES = {Role.RESIDENT: Source.RESIDENT, Role.GRID: Source.GRID}


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
