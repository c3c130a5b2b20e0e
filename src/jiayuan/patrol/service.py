"""Use cases of video patrol: plan it, change, pause, retire or delete a plan, see which rounds are due,
done or missed, make a round camera by camera, and open a case for what is found, with the picture that
was seen.

A plan's past keeps counting: a schedule change or a pause closes the schedule in force as a term (its
slots, done or missed, stay in the statistics) and a retired plan keeps its rounds; only a plan nothing
was due for yet may be deleted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from jiayuan.accounts.service.audit import record_audit
from jiayuan.bus.bus import publish_on_commit
from jiayuan.cases.service import reporting
from jiayuan.devices.service import cameras, snapshots
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.clock import aware, local, utcnow
from jiayuan.kernel.errors import Conflict, Invalid, NotFound
from jiayuan.kernel.i18n import Label
from jiayuan.kernel.principal import Principal
from jiayuan.patrol import policies, repository
from jiayuan.patrol.events import RoundFinished
from jiayuan.patrol.models import PatrolCamera, PatrolCheck, PatrolPlan, PatrolRound, PatrolTerm
from jiayuan.patrol.schedule import slots_between
from jiayuan.patrol.schemas import (
    CameraChoice,
    CheckIn,
    CheckOut,
    PatrolTally,
    PlanCameraIn,
    PlanCameraOut,
    PlanChange,
    PlanIn,
    PlanOut,
    RoundOut,
    SlotOut,
    StartIn,
)
from jiayuan.patrol.states import RoundState, SlotState, slot_state

# How far back and ahead a plan's slots are listed by default.
LOOK_BACK = timedelta(hours=24)
LOOK_AHEAD = timedelta(hours=6)


def create_plan(session: Session, *, actor: Principal, data: PlanIn) -> PlanOut:
    """A patrol plan over cameras of one community (each must be a camera the planner may watch)."""
    policies.require_planner(actor, data.community_id)
    _check_cameras(session, actor, data.community_id, data.cameras)
    plan = PatrolPlan(
        community_id=data.community_id,
        name=data.name,
        every_minutes=data.every_minutes,
        window_start=data.window_start,
        window_end=data.window_end,
        grace_minutes=data.grace_minutes or data.every_minutes,
        created_by_user_id=actor.user_id,
        cameras=[
            PatrolCamera(device_id=c.device_id, position=n, checklist=list(c.checklist))
            for n, c in enumerate(data.cameras)
        ],
    )
    session.add(plan)
    session.flush()
    record_audit(
        session, actor=actor, action="patrol.plan", target_type="patrol_plan", target_id=plan.id,
        target_label=plan.name, community_id=plan.community_id,
        detail={"cameras": [c.device_id for c in data.cameras], "every_minutes": data.every_minutes},
    )  # fmt: skip
    return _plan_out(session, actor, plan)


def update_plan(
    session: Session, *, actor: Principal, plan_id: int, data: PlanChange, now: datetime | None = None
) -> PlanOut:
    """Change a plan: its name, cameras and checklists, schedule, or pause (`active` false) and resume it.

    A new schedule applies from now on, and a paused plan has no rounds due until it is resumed; the
    slots that came before stay as they were (the schedule then is kept as a term)."""
    now = now or utcnow()
    plan = _plan_to_edit(session, actor, plan_id)
    if data.cameras is not None:  # checked before anything changes
        _check_cameras(session, actor, plan.community_id, data.cameras)
    changed: dict[str, object] = {}
    if data.name is not None and data.name != plan.name:
        changed["name"] = plan.name = data.name
    if data.cameras is not None and _camera_rows(plan.cameras) != _camera_rows(data.cameras):
        _replace_cameras(plan, data.cameras)
        changed["cameras"] = [c.device_id for c in data.cameras]
    schedule = {
        key: value
        for key in ("every_minutes", "window_start", "window_end", "grace_minutes")
        if (value := getattr(data, key)) is not None and value != getattr(plan, key)
    }
    if schedule:
        if plan.active:
            _close_term(plan, now)
        for key, value in schedule.items():
            setattr(plan, key, value)
        changed.update(schedule)
    if data.active is not None and data.active != plan.active:
        if data.active:
            plan.since = now  # the paused time has no rounds due
        else:
            _close_term(plan, now)
        changed["active"] = plan.active = data.active
    if changed:
        session.flush()
        record_audit(
            session, actor=actor, action="patrol.plan_change", target_type="patrol_plan", target_id=plan.id,
            target_label=plan.name, community_id=plan.community_id, detail=changed,
        )  # fmt: skip
    return _plan_out(session, actor, plan)


def retire_plan(session: Session, *, actor: Principal, plan_id: int, now: datetime | None = None) -> PlanOut:
    """Stop a plan for good: no more rounds, while its rounds and its past slots stay on the record."""
    now = now or utcnow()
    plan = _plan_to_edit(session, actor, plan_id)
    if plan.active:
        _close_term(plan, now)
    plan.active = False
    plan.retired_at = now
    session.flush()
    record_audit(
        session, actor=actor, action="patrol.plan_retire", target_type="patrol_plan", target_id=plan.id,
        target_label=plan.name, community_id=plan.community_id, detail={},
    )  # fmt: skip
    return _plan_out(session, actor, plan)


def delete_plan(session: Session, *, actor: Principal, plan_id: int, now: datetime | None = None) -> None:
    """Delete a plan made by mistake: one nothing was due for yet (a plan with a past is retired instead,
    so that its rounds and the missed ones stay in the statistics)."""
    now = now or utcnow()
    plan = _plan_to_edit(session, actor, plan_id, retired_too=True)
    if repository.round_counts(session, [plan.id]).get(plan.id):
        raise Conflict("该计划已有巡查记录，不能删除；可以停用它，记录和统计都会保留", field="plan_id")
    if _slots(plan, aware(plan.created_at), now):
        raise Conflict("该计划已到过巡查时间，删除会抹去漏巡统计；可以停用它", field="plan_id")
    record_audit(
        session, actor=actor, action="patrol.plan_delete", target_type="patrol_plan", target_id=plan.id,
        target_label=plan.name, community_id=plan.community_id,
        detail={"cameras": [c.device_id for c in plan.cameras]},
    )  # fmt: skip
    session.delete(plan)
    session.flush()


def camera_choices(session: Session, *, actor: Principal) -> list[CameraChoice]:
    """The gate cameras the actor may put into plans (of the communities the actor plans for)."""
    policies.require_may_plan(actor)
    return [
        CameraChoice(device_id=c.id, name=c.name, gate_name=c.gate_name, community_id=c.community_id)
        for c in cameras.visible_cameras(session, actor=actor)
        if c.community_id is not None and policies.reaches(actor, c.community_id)
    ]


def list_plans(session: Session, *, actor: Principal) -> list[PlanOut]:
    """The plans of the actor's communities (retired ones too, marked so)."""
    policies.require_reader(actor)
    found = repository.plans(session, policies.communities(actor))
    counts = repository.round_counts(session, [p.id for p in found])
    return [_plan_out(session, actor, p, counts.get(p.id, 0)) for p in found]


def slots(
    session: Session,
    *,
    actor: Principal,
    plan_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> list[SlotOut]:
    """The slots of the actor's plans (or one plan) between two moments, newest first, each with its
    state: upcoming, due, in progress, done or missed."""
    now = now or utcnow()
    since = aware(since) if since else now - LOOK_BACK
    until = aware(until) if until else now + LOOK_AHEAD
    if until <= since:
        raise Invalid("结束时间须晚于开始时间", field="until")
    plans = _plans(session, actor, plan_id)
    rounds = {
        (r.plan_id, r.slot.timestamp()): r
        for r in repository.rounds_between(session, [p.id for p in plans], since, until)
    }
    found = []
    for plan in plans:
        for moment, grace in _slots(plan, since, until):
            done = rounds.get((plan.id, moment.timestamp()))
            state = slot_state(moment, grace, done.state if done else None, now)
            found.append(
                SlotOut(
                    plan_id=plan.id, slot=moment, state=state, state_label=state.label,
                    round_id=done.id if done else None, by_name=done.by_name if done else None,
                    finished_at=done.finished_at if done else None,
                )
            )  # fmt: skip
    return sorted(found, key=lambda s: (s.slot, s.plan_id), reverse=True)


def start_round(
    session: Session, *, actor: Principal, data: StartIn, now: datetime | None = None
) -> RoundOut:
    """Begin the round of a due slot (or carry on with the one already begun)."""
    policies.require_patroller(actor)
    now = now or utcnow()
    [plan] = _plans(session, actor, data.plan_id)
    if plan.retired_at is not None:
        raise Conflict("该计划已停用，不能再巡查", field="plan_id")
    slot = local(data.slot)
    matching = [grace for moment, grace in _slots(plan, slot, slot + timedelta(seconds=1)) if moment == slot]
    if not matching:
        raise Invalid("{slot:%Y-%m-%d %H:%M} 不是该计划的巡查时间", field="slot", slot=slot)
    grace = matching[0]
    existing = repository.round_of(session, plan.id, slot)
    state = slot_state(slot, grace, existing.state if existing else None, now)
    if state is SlotState.IN_PROGRESS and existing is not None:
        return _round_out(session, existing)
    if state is not SlotState.DUE:
        raise Conflict("这一轮{state}，不能开始巡查", field="slot", state=Label(state.label))
    patrol = PatrolRound(
        plan_id=plan.id, community_id=plan.community_id, slot=slot, state=RoundState.IN_PROGRESS.value,
        by_user_id=actor.user_id, by_name=actor.username[:64], started_at=now, checks=[],
    )  # fmt: skip
    session.add(patrol)
    session.flush()
    return _round_out(session, patrol)


def record_check(
    session: Session,
    *,
    actor: Principal,
    round_id: int,
    data: CheckIn,
    files: SnapshotFiles,
    picture: bytes | None = None,
    now: datetime | None = None,
) -> CheckOut:
    """One camera of the round looked at: every checklist item answered; `picture` is the frame the
    patroller saw (kept as evidence); a finding opens a case carrying it."""
    policies.require_patroller(actor)
    now = now or utcnow()
    patrol, plan = _own_round(session, actor, round_id)
    camera = next((c for c in plan.cameras if c.device_id == data.device_id), None)
    if camera is None:
        raise Invalid("摄像机 {device} 不在本计划中", field="device_id", device=data.device_id)
    if any(c.device_id == camera.device_id for c in patrol.checks):
        raise Conflict("摄像机 {device} 本轮已经看过", field="device_id", device=camera.device_id)
    unknown = sorted(set(data.answers) - set(camera.checklist))
    missing = [item for item in camera.checklist if item not in data.answers]
    if unknown and missing:
        raise Invalid(
            "没有这些检查项：{unknown}；请逐项回答：{missing}",
            field="answers",
            unknown="、".join(unknown),
            missing="、".join(missing),
        )
    if unknown:
        raise Invalid("没有这些检查项：{unknown}", field="answers", unknown="、".join(unknown))
    if missing:
        raise Invalid("请逐项回答：{missing}", field="answers", missing="、".join(missing))
    if data.finding is None and not all(data.answers.values()):
        raise Invalid("有检查项不正常：请填写发现的问题（将生成事件）", field="finding")
    snapshot_id = None
    if picture is not None:
        snapshot_id = snapshots.keep_picture(
            session, actor=actor, files=files, device_id=camera.device_id, jpeg=picture, at=now
        )
    check = PatrolCheck(
        device_id=camera.device_id, looked_at=now, answers=dict(data.answers), note=data.note,
        snapshot_id=snapshot_id,
    )  # fmt: skip
    if data.finding is not None:
        evidence: dict[str, object] = {"patrol_round": patrol.id, "checklist": dict(data.answers)}
        if snapshot_id is not None:
            evidence["snapshot"] = snapshot_id
        opened = reporting.report_from_patrol(
            session, actor=actor, category=data.finding.category, title=data.finding.title,
            description=data.finding.description or data.note, device_id=camera.device_id, evidence=evidence,
        )  # fmt: skip
        check.case_id = opened.id
    patrol.checks.append(check)
    session.flush()
    return CheckOut.model_validate(check)


def finish_round(
    session: Session, *, actor: Principal, round_id: int, now: datetime | None = None
) -> RoundOut:
    """Close the round once every camera of the plan has been looked at."""
    policies.require_patroller(actor)
    patrol, plan = _own_round(session, actor, round_id)
    left = _to_check(plan, patrol)
    if left:
        raise Invalid("还有摄像机没有看：{cameras}", field="round_id", cameras="、".join(left))
    patrol.state = RoundState.DONE.value
    patrol.finished_at = now or utcnow()
    findings = sum(1 for c in patrol.checks if c.case_id is not None)
    record_audit(
        session, actor=actor, action="patrol.round", target_type="patrol_plan", target_id=plan.id,
        target_label=plan.name, community_id=plan.community_id,
        detail={"round_id": patrol.id, "slot": patrol.slot.isoformat(), "findings": findings},
    )  # fmt: skip
    publish_on_commit(
        session,
        RoundFinished(community_id=plan.community_id, plan_id=plan.id, round_id=patrol.id, findings=findings),
    )
    return _round_out(session, patrol)


def show_round(session: Session, *, actor: Principal, round_id: int) -> RoundOut:
    """A round of a plan in the actor's scope."""
    found = repository.round_by_id(session, round_id)
    policies.require_plan_visible(actor, found.community_id if found else None)
    assert found is not None
    return _round_out(session, found)


def tally(
    session: Session, *, actor: Principal, since: datetime, until: datetime, now: datetime | None = None
) -> PatrolTally:
    """Rounds over a period for the statistics: slots whose time has come, done, missed, findings."""
    listed = slots(session, actor=actor, since=since, until=until, now=now)
    counted = [s for s in listed if s.state is not SlotState.UPCOMING]
    plans = [p.id for p in _plans(session, actor, None)]
    return PatrolTally(
        slots=len(counted),
        done=sum(1 for s in counted if s.state is SlotState.DONE),
        missed=sum(1 for s in counted if s.state is SlotState.MISSED),
        findings=repository.findings_between(session, plans, since, until),
    )


def _plans(session: Session, actor: Principal, plan_id: int | None) -> Sequence[PatrolPlan]:
    policies.require_reader(actor)
    if plan_id is None:
        return repository.plans(session, policies.communities(actor))
    plan = repository.plan(session, plan_id)
    policies.require_plan_visible(actor, plan.community_id if plan else None)
    assert plan is not None
    return [plan]


def _slots(plan: PatrolPlan, since: datetime, until: datetime) -> list[tuple[datetime, timedelta]]:
    """The plan's slots in [since, until) with the time each had to be done in: those of its past
    terms, then those of the schedule in force while it is active."""
    found: list[tuple[datetime, timedelta]] = []
    spans: list[tuple[PatrolTerm | PatrolPlan, datetime | None, datetime]] = [
        (t, t.starts_at, t.ends_at) for t in plan.terms
    ]
    if plan.active and plan.retired_at is None:
        spans.append((plan, plan.since, until))
    for schedule, begins, ends in spans:
        low = max(since, aware(begins)) if begins is not None else since
        high = min(until, aware(ends))
        if low >= high:
            continue
        moments = slots_between(
            every=timedelta(minutes=schedule.every_minutes), start=schedule.window_start,
            end=schedule.window_end, since=low, until=high,
        )  # fmt: skip
        found.extend((m, timedelta(minutes=schedule.grace_minutes)) for m in moments)
    return found


def _plan_to_edit(
    session: Session, actor: Principal, plan_id: int, *, retired_too: bool = False
) -> PatrolPlan:
    """A plan the actor plans for (one of another community reads as missing); a retired one is only
    shown, or deleted."""
    plan = repository.plan(session, plan_id)
    policies.require_plan_editable(actor, plan.community_id if plan else None)
    assert plan is not None
    if plan.retired_at is not None and not retired_too:
        raise Conflict("该计划已停用，不能再修改", field="plan_id")
    return plan


def _check_cameras(
    session: Session, actor: Principal, community_id: int, wanted: Sequence[PlanCameraIn]
) -> None:
    """Every camera one the planner may watch, of the plan's community."""
    for camera in wanted:
        try:
            found = cameras.camera_for(session, actor=actor, device_id=camera.device_id)
        except NotFound:
            raise NotFound(
                "摄像机：没有编号为 {device} 的摄像机", field="cameras", device=camera.device_id
            ) from None
        if found.community_id != community_id:
            raise NotFound("摄像机：{device} 不在该社区", field="cameras", device=camera.device_id)


def _camera_rows(rows: Sequence[PatrolCamera | PlanCameraIn]) -> list[tuple[str, list[str]]]:
    return [(c.device_id, list(c.checklist)) for c in rows]


def _replace_cameras(plan: PatrolPlan, wanted: Sequence[PlanCameraIn]) -> None:
    """The plan's cameras become `wanted`, in order; a camera kept keeps its row (one row per camera)."""
    kept = {c.device_id: c for c in plan.cameras}
    rows = []
    for position, camera in enumerate(wanted):
        row = kept.pop(camera.device_id, None) or PatrolCamera(device_id=camera.device_id)
        row.position, row.checklist = position, list(camera.checklist)
        rows.append(row)
    plan.cameras = rows


def _close_term(plan: PatrolPlan, now: datetime) -> None:
    """The schedule in force until now becomes a past term; what comes next counts from now."""
    if plan.since is not None and aware(plan.since) >= now:  # nothing was in force yet
        return
    plan.terms.append(
        PatrolTerm(
            starts_at=plan.since, ends_at=now, every_minutes=plan.every_minutes,
            window_start=plan.window_start, window_end=plan.window_end, grace_minutes=plan.grace_minutes,
        )
    )  # fmt: skip
    plan.since = now


def _own_round(session: Session, actor: Principal, round_id: int) -> tuple[PatrolRound, PatrolPlan]:
    """A round in progress, of a plan in scope, begun by this actor (a round is one person's)."""
    patrol = repository.round_by_id(session, round_id)
    policies.require_plan_visible(actor, patrol.community_id if patrol else None)
    assert patrol is not None
    if patrol.state != RoundState.IN_PROGRESS.value:
        raise Conflict("这一轮已经结束", field="round_id")
    if patrol.by_user_id != actor.user_id:
        raise Conflict("这一轮由 {name} 进行", field="round_id", name=patrol.by_name)
    plan = repository.plan(session, patrol.plan_id)
    assert plan is not None
    return patrol, plan


def _to_check(plan: PatrolPlan, patrol: PatrolRound) -> list[str]:
    seen = {c.device_id for c in patrol.checks}
    return [c.device_id for c in plan.cameras if c.device_id not in seen]


def _plan_out(session: Session, actor: Principal, plan: PatrolPlan, rounds: int | None = None) -> PlanOut:
    visible = {c.id: c for c in cameras.visible_cameras(session, actor=actor)}
    if rounds is None:
        rounds = repository.round_counts(session, [plan.id]).get(plan.id, 0)
    return PlanOut(
        id=plan.id, community_id=plan.community_id, name=plan.name, every_minutes=plan.every_minutes,
        window_start=plan.window_start, window_end=plan.window_end, grace_minutes=plan.grace_minutes,
        active=plan.active, retired_at=plan.retired_at, rounds=rounds,
        cameras=[
            PlanCameraOut(
                device_id=c.device_id,
                name=visible[c.device_id].name if c.device_id in visible else c.device_id,
                gate_name=visible[c.device_id].gate_name if c.device_id in visible else None,
                checklist=list(c.checklist),
            )
            for c in plan.cameras
        ],
    )  # fmt: skip


def _round_out(session: Session, patrol: PatrolRound) -> RoundOut:
    plan = repository.plan(session, patrol.plan_id)
    assert plan is not None
    return RoundOut(
        id=patrol.id, plan_id=patrol.plan_id, slot=patrol.slot, state=patrol.state, by_name=patrol.by_name,
        started_at=patrol.started_at, finished_at=patrol.finished_at,
        checks=[CheckOut.model_validate(c) for c in patrol.checks], to_check=_to_check(plan, patrol),
    )  # fmt: skip
