"""Reads of the access domain: gates, flow per gate and compound, daily summary, vehicles inside, today."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from jiayuan.access import policies, repository
from jiayuan.access.events import AlarmRaised, PassChecked, VehicleSeen
from jiayuan.access.models import FLOW_COUNTERS, FlowBucket, VehiclePresence
from jiayuan.access.schemas import (
    DailySummary,
    FlowBucketOut,
    FlowOut,
    FlowToday,
    GateBrief,
    GateDeviceOut,
    GateOut,
    PresenceOut,
)
from jiayuan.kernel.clock import LOCAL_TZ, local, utcnow
from jiayuan.kernel.errors import Invalid, NotFound
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory

MAX_FLOW_SPAN = timedelta(days=7)
FEED_SIZE = 30
OPEN_ALARMS_SHOWN = 20


def _visible_gates(session: Session, actor: Principal) -> list[directory.GateInfo]:
    return [
        g
        for g in directory.list_gates(session)
        if policies.sees(actor, community_id=g.community_id, compound_id=g.compound_id)
    ]


def list_gates(session: Session, *, actor: Principal) -> list[GateOut]:
    """Gates the actor may see, with compound and devices."""
    policies.require_can_view_gates(actor)
    devices = {d.id: d for d in directory.all_devices(session)}
    return [
        GateOut(
            id=g.id,
            code=g.code,
            name=g.name,
            compound_id=g.compound_id,
            compound_name=g.compound_name,
            community_id=g.community_id,
            devices=[
                GateDeviceOut(id=d, kind=devices[d].kind, name=devices[d].name, enabled=devices[d].enabled)
                for d in g.device_ids
            ],
        )
        for g in _visible_gates(session, actor)
    ]


def _totals(buckets: list[FlowBucketOut], at: datetime) -> FlowBucketOut:
    sums = {name: sum(getattr(b, name) for b in buckets) for name in FLOW_COUNTERS}
    return FlowBucketOut(bucket=at, **sums)


def _since(since: datetime | None, until: datetime) -> datetime:
    since = since or until - timedelta(hours=24)
    if since.tzinfo is None:
        raise Invalid("since 须带时区，例如 2026-11-27T08:00:00+08:00", field="since")
    if since > until:
        raise Invalid("since 不能晚于现在", field="since")
    if until - since > MAX_FLOW_SPAN:
        raise Invalid("最多查询 7 天", field="since")
    return since


def gate_flow(
    session: Session,
    *,
    actor: Principal,
    gate_id: int,
    since: datetime | None = None,
    now: datetime | None = None,
) -> FlowOut:
    """A gate's 5-minute buckets since a moment (default: the last 24 hours)."""
    policies.require_can_view_gates(actor)  # roles without gate access learn nothing, not even existence
    gate = next((g for g in _visible_gates(session, actor) if g.id == gate_id), None)
    if gate is None:  # missing or outside the scope: one answer
        raise NotFound("出入口不存在", field="gate_id")
    now = now or utcnow()
    start = _since(since, now)
    buckets, marks = _read_buckets(session, FlowBucket.gate_id == gate_id, start)
    return FlowOut(
        gate_id=gate_id,
        compound_id=gate.compound_id,
        since=start,
        buckets=buckets,
        totals=_totals(buckets, start),
        outside_present=repository.outside_present(session, gate.compound_id),
        marks=marks,
    )


def compound_flow(
    session: Session,
    *,
    actor: Principal,
    compound_id: int,
    since: datetime | None = None,
    now: datetime | None = None,
) -> FlowOut:
    """A compound's buckets (all its gates summed)."""
    policies.require_can_view_gates(actor)
    gates = [g for g in _visible_gates(session, actor) if g.compound_id == compound_id]
    if not gates:  # missing, without gates, or outside the scope: one answer
        raise NotFound("小区不存在或没有出入口", field="compound_id")
    now = now or utcnow()
    start = _since(since, now)
    buckets, marks = _read_buckets(session, FlowBucket.compound_id == compound_id, start)
    return FlowOut(
        compound_id=compound_id,
        since=start,
        buckets=buckets,
        totals=_totals(buckets, start),
        outside_present=repository.outside_present(session, compound_id),
        marks=marks,
    )


def _read_buckets(
    session: Session, where: ColumnElement[bool], start: datetime
) -> tuple[list[FlowBucketOut], dict[datetime, dict[int, int]]]:
    """The buckets since `start`, the gates' rows summed, and each row's revision, from one read:
    counts and marks agree, so a client replaying live events after them counts each once."""
    rows = repository.bucket_rows(session, where, start)
    sums: dict[datetime, Counter[str]] = {}
    marks: dict[datetime, dict[int, int]] = {}
    for gate_id, bucket, revision, *counts in rows:
        sums.setdefault(bucket, Counter()).update(dict(zip(FLOW_COUNTERS, counts, strict=True)))
        marks.setdefault(bucket, {})[gate_id] = revision
    buckets = [
        FlowBucketOut(bucket=bucket, **{name: total[name] for name in FLOW_COUNTERS})
        for bucket, total in sums.items()
    ]
    return buckets, marks


def daily_summary(session: Session, *, actor: Principal, compound_id: int, day: str) -> DailySummary:
    """One local (Asia/Shanghai) day of a compound: totals, peak, alarms, refusals by reason."""
    try:
        start = datetime.combine(datetime.fromisoformat(day).date(), time(), tzinfo=LOCAL_TZ)
    except ValueError as exc:
        raise Invalid("日期格式应为 YYYY-MM-DD", field="day") from exc
    end = start + timedelta(days=1)
    flow_out = compound_flow(session, actor=actor, compound_id=compound_id, since=start, now=end)
    buckets = [b for b in flow_out.buckets if b.bucket < end]
    peak = max(buckets, key=lambda b: b.people_in + b.camera_in, default=None)
    alarm_types = Counter(
        repository.alarm_types_between(session, compound_id=compound_id, start=start, end=end)
    )
    refused = Counter(
        repository.refusal_reasons_between(session, compound_id=compound_id, start=start, end=end)
    )
    return DailySummary(
        compound_id=compound_id,
        day=start.date().isoformat(),
        totals=_totals(buckets, start),
        peak_in_bucket=peak.bucket if peak else None,
        peak_in=(peak.people_in + peak.camera_in) if peak else 0,
        alarms=dict(alarm_types),
        refused=dict(refused),
    )


def overnight_outside(
    session: Session, *, actor: Principal, morning: datetime | None = None
) -> list[PresenceOut]:
    """Outside vehicles that entered before midnight and are still inside (the morning list)."""
    policies.require_can_view_gates(actor)
    morning = (morning or utcnow()).astimezone(LOCAL_TZ)
    midnight = datetime.combine(morning.date(), time(), tzinfo=LOCAL_TZ)
    rows = repository.outside_since_before(
        session,
        policies.scope_filter(actor, VehiclePresence.community_id, VehiclePresence.compound_id),
        midnight=midnight,
    )
    return [
        PresenceOut(
            plate=r.plate,
            compound_id=r.compound_id,
            category=r.category,
            entered_at=r.entered_at,
            entered_gate_id=r.entered_gate_id,
            dwell_s=int((morning - r.entered_at).total_seconds()) if r.entered_at else None,
        )
        for r in rows
    ]


def _feed(session: Session, gate_ids: list[int]) -> list[dict[str, Any]]:
    """The newest plate reads and pass checks at these gates, as the live stream sends them."""
    plates = repository.latest_passages(session, gate_ids, FEED_SIZE)
    checks = repository.latest_checks(session, gate_ids, FEED_SIZE)
    events: list[tuple[datetime, VehicleSeen | PassChecked]] = [
        (
            p.at,
            VehicleSeen(
                community_id=p.community_id,
                occurred_at=p.at,
                passage_id=p.id,
                gate_id=p.gate_id,
                compound_id=p.compound_id,
                plate=p.plate,
                category=p.category,
                direction=p.direction,
                valid_format=p.valid_format,
                notes=p.notes,
                device_id=p.device_id,
                snapshot=p.snapshot,
            ),
        )
        for p in plates
    ]
    events += [
        (
            c.at,
            PassChecked(
                community_id=c.community_id,
                occurred_at=c.at,
                check_id=c.id,
                gate_id=c.gate_id,
                compound_id=c.compound_id,
                direction=c.direction,
                decision=c.decision,
                reason=c.reason,
                kind=c.kind,
            ),
        )
        for c in checks
    ]
    events.sort(key=lambda pair: pair[0], reverse=True)
    return [event.to_message() for _, event in events[:FEED_SIZE]]


def _open_alarms(session: Session, gate_ids: list[int], compound_id: int | None) -> list[dict[str, Any]]:
    """Alarms not yet cleared at these gates (and, given a compound, at no gate of it), newest first."""
    rows = repository.uncleared_alarms_at(session, gate_ids, compound_id, OPEN_ALARMS_SHOWN)
    return [
        AlarmRaised(
            community_id=a.community_id,
            occurred_at=a.raised_at,
            alarm_id=a.id,
            type=a.type,
            compound_id=a.compound_id,
            gate_id=a.gate_id,
            device_id=a.device_id,
            summary=a.summary,
            evidence=a.evidence,
        ).to_message()
        for a in rows
    ]


def flow_today(
    session: Session,
    *,
    actor: Principal,
    compound_id: int | None = None,
    gate_id: int | None = None,
    now: datetime | None = None,
) -> FlowToday:
    """Today (Beijing time) at one gate or one compound (default: the first compound in scope)."""
    visible = list_gates(session, actor=actor)
    if gate_id is not None:
        gate = next((g for g in visible if g.id == gate_id), None)
        if gate is None:
            raise NotFound("出入口不存在", field="gate_id")
        if compound_id is not None and compound_id != gate.compound_id:
            raise Invalid("该出入口不属于所选小区", field="gate_id")
        compound_id = gate.compound_id
    elif compound_id is None:
        if not visible:
            raise NotFound("负责范围内没有出入口", field="compound_id")
        compound_id = visible[0].compound_id
    gates = [
        GateBrief(id=g.id, name=g.name, compound_id=g.compound_id, compound_name=g.compound_name)
        for g in visible
        if g.compound_id == compound_id
    ]
    if not gates:
        raise NotFound("小区不存在或没有出入口", field="compound_id")
    now = now or utcnow()
    day_start = datetime.combine(local(now).date(), time(), tzinfo=LOCAL_TZ)
    if gate_id is not None:
        flow_out = gate_flow(session, actor=actor, gate_id=gate_id, since=day_start, now=now)
    else:
        flow_out = compound_flow(session, actor=actor, compound_id=compound_id, since=day_start, now=now)
    watched = [gate_id] if gate_id is not None else [g.id for g in gates]
    return FlowToday(
        compound_id=compound_id,
        compound_name=gates[0].compound_name,
        gate_id=gate_id,
        day_start=day_start,
        as_of=now,
        gates=gates,
        flow=flow_out,
        overnight=[
            v for v in overnight_outside(session, actor=actor, morning=now) if v.compound_id == compound_id
        ],
        feed=_feed(session, watched),
        alarms=_open_alarms(session, watched, compound_id if gate_id is None else None),
    )
