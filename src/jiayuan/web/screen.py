"""What the office big screen (大屏) shows, read in one go from the domains' services.

The page renders this state, and reloads it after every reconnect and every few minutes, so what
the screen shows after a network loss or a server restart is exactly what a fresh page would show;
between reloads the access stream moves the gate numbers and alarms.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta

from pydantic import BaseModel
from sqlalchemy.orm import Session

from jiayuan.access.policies import may_view_gates
from jiayuan.access.schemas import ALARM_LABELS, FlowBucketOut, GateOut
from jiayuan.access.service import alarms, reports
from jiayuan.cases.policies import reads_whole_community
from jiayuan.cases.schemas import CaseFilter
from jiayuan.cases.service import reads
from jiayuan.devices.service import cameras
from jiayuan.duty.service import on_duty
from jiayuan.kernel.clock import LOCAL_TZ, local, utcnow
from jiayuan.kernel.errors import Forbidden
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import structure
from jiayuan.web import i18n

COUNTERS = ("people_in", "people_out", "camera_in", "camera_out", "outside_in", "outside_out", "refused")
CHART_SERIES = ("people_in", "people_out", "outside_in", "outside_out")
CHART_HOURS = 24
OPEN_CASES_SHOWN = 8
ALARMS_SHOWN = 12


class PlanBuilding(BaseModel):
    """A building on the site plan."""

    id: int
    name: str


class PlanGate(BaseModel):
    """A gate on the site plan."""

    id: int
    name: str


class PlanCompound(BaseModel):
    """A compound on the site plan with its buildings and gates."""

    id: int
    name: str
    buildings: list[PlanBuilding]
    gates: list[PlanGate]


class GateToday(BaseModel):
    """One gate's numbers since midnight (Beijing time), and the revision of each bucket read, so a
    live count already included is not added twice."""

    id: int
    name: str
    compound_id: int
    compound_name: str
    today: dict[str, int]
    outside_present: int
    marks: dict[str, int]


class Chart(BaseModel):
    """The last 24 hours across every gate, by hour (oldest first); `hours` are local hour labels."""

    hours: list[str]
    starts: list[datetime]
    series: dict[str, list[int]]


class ScreenAlarm(BaseModel):
    """An open gate alarm."""

    id: int
    type: str
    label: str
    summary: str
    raised_at: datetime
    gate_id: int | None


class ScreenCase(BaseModel):
    """An open case: what, where, how far along (never who reported it)."""

    id: int
    title: str
    category_label: str
    state_label: str
    level: int
    place: str
    overdue: bool
    reported_at: datetime


class ScreenCamera(BaseModel):
    """A gate camera whose snapshots the screen cycles through."""

    id: str
    name: str
    gate_name: str | None


class ScreenDuty(BaseModel):
    """A post with people on duty now: the community, a grid or a gate, and who (name and role)."""

    place: str
    people: list[str]


class ScreenState(BaseModel):
    """Everything the big screen shows at one moment."""

    community: str
    as_of: datetime
    day_start: datetime
    plan: list[PlanCompound]
    gates: list[GateToday]
    chart: Chart
    alarms: list[ScreenAlarm]
    case_counts: dict[str, int]
    open_cases: list[ScreenCase]
    cameras: list[ScreenCamera]
    duty: list[ScreenDuty]


def may_watch_screen(principal: Principal) -> bool:
    """The big screen shows gates and every case of the communities: for those who may see both whole
    (the office and its screen account), so it never shows a grid worker or a property company more
    than their own pages do."""
    return may_view_gates(principal) and reads_whole_community(principal)


def screen_state(session: Session, *, actor: Principal, now: datetime | None = None) -> ScreenState:
    """The screen's state for the actor's scope (each part read through its domain's policies)."""
    if not may_watch_screen(actor):
        raise Forbidden("只有书记、社区工作人员和大屏账号可以打开大屏")
    now = now or utcnow()
    _ = i18n.translate  # labels in the language of the page or stream that asks
    day_start = datetime.combine(local(now).date(), time(), tzinfo=LOCAL_TZ)
    chart_start = local(now).replace(minute=0, second=0, microsecond=0) - timedelta(hours=CHART_HOURS - 1)
    since = min(day_start, chart_start)
    gates = reports.list_gates(session, actor=actor)
    communities = structure.list_communities(session, actor=actor)
    hourly: dict[str, Counter[datetime]] = {key: Counter() for key in CHART_SERIES}
    gate_rows = []
    for gate in gates:
        flow = reports.gate_flow(session, actor=actor, gate_id=gate.id, since=since, now=now)
        today = [b for b in flow.buckets if b.bucket >= day_start]
        for bucket in flow.buckets:
            if bucket.bucket >= chart_start:
                hour = local(bucket.bucket).replace(minute=0, second=0, microsecond=0)
                for key in CHART_SERIES:
                    hourly[key][hour] += getattr(bucket, key)
        gate_rows.append(
            GateToday(
                id=gate.id,
                name=gate.name,
                compound_id=gate.compound_id,
                compound_name=gate.compound_name,
                today=_sum(today),
                outside_present=flow.outside_present,
                marks={
                    bucket.isoformat(): revisions.get(gate.id, 0)
                    for bucket, revisions in flow.marks.items()
                    if bucket >= day_start
                },
            )
        )
    starts = [chart_start + timedelta(hours=n) for n in range(CHART_HOURS)]
    return ScreenState(
        community=_("、").join(c.name for c in communities) or _("平安家园"),
        as_of=now,
        day_start=day_start,
        plan=_plan(session, actor, gates),
        gates=gate_rows,
        chart=Chart(
            hours=[f"{start:%H}:00" for start in starts],
            starts=starts,
            series={key: [hourly[key][start] for start in starts] for key in CHART_SERIES},
        ),
        alarms=[
            ScreenAlarm(
                id=a.id,
                type=a.type,
                label=_(ALARM_LABELS[a.type]) if a.type in ALARM_LABELS else a.type,
                summary=a.summary,
                raised_at=a.raised_at,
                gate_id=a.gate_id,
            )
            for a in alarms.list_alarms(session, actor=actor, state="open", limit=ALARMS_SHOWN)
        ],
        case_counts={_(state.label): n for state, n in reads.count_by_state(session, actor=actor).items()},
        open_cases=[
            ScreenCase(
                id=c.id,
                title=c.title,
                category_label=_(c.category_label),
                state_label=_(c.state_label),
                level=c.level,
                place=c.place,
                overdue=c.overdue,
                reported_at=c.reported_at,
            )
            for c in reads.list_cases(
                session,
                actor=actor,
                filters=CaseFilter(open_only=True),
                params=PageParams(page=1, size=OPEN_CASES_SHOWN),
            ).items
        ],
        cameras=[
            ScreenCamera(id=c.id, name=c.name, gate_name=c.gate_name)
            for c in cameras.visible_cameras(session, actor=actor)
        ],
        duty=[
            ScreenDuty(
                place=p.place_name,
                people=[
                    _("{name}（{role}）").format(name=x.user_name, role=_(x.duty_role_label))
                    for x in p.people
                ],
            )
            for p in on_duty.on_duty_now(session, actor=actor, at=now).places
            if p.people
        ],
    )


def _sum(buckets: list[FlowBucketOut]) -> dict[str, int]:
    return {key: sum(getattr(b, key) for b in buckets) for key in COUNTERS}


def _plan(session: Session, actor: Principal, gates: list[GateOut]) -> list[PlanCompound]:
    buildings = structure.list_buildings(session, actor=actor)
    return [
        PlanCompound(
            id=compound.id,
            name=compound.name,
            buildings=[PlanBuilding(id=b.id, name=b.name) for b in buildings if b.compound_id == compound.id],
            gates=[PlanGate(id=g.id, name=g.name) for g in gates if g.compound_id == compound.id],
        )
        for compound in structure.list_compounds(session, actor=actor)
    ]
