"""What the grid worker's phone (/m) shows and does, read from and done through the domains' services.

The page renders `phone_state` (my cases, my duty today, my patrol slots) and reloads it after each
reconnect. Its actions are the cases service's, in the shape a phone needs: 受理 takes a case on
(accepted, and confirmed as the worker's own), 到场 and 处置 move it on, with photos uploaded first. Each
carries the request id the phone gave it when the button was pressed, so an action resent after a lost
answer (the phone went offline) is taken once. Its labels are in the language of the page, or of the
socket, that asks: the live pushes read the same as a fresh page.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from jiayuan.accounts.service import users
from jiayuan.cases import policies as case_policies
from jiayuan.cases.schemas import ActionIn, CaseFilter, CaseOut, RowIdList, Source
from jiayuan.cases.service import reads, workflow
from jiayuan.cases.states import CaseAction, CaseState
from jiayuan.duty import policies as duty_policies
from jiayuan.duty.service import people, shifts
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.errors import Forbidden, Invalid, NotFound
from jiayuan.kernel.paging import MAX_PAGE_SIZE, PageParams
from jiayuan.kernel.principal import ROLE_CONTEXT, ROLE_LABELS, Principal, Role
from jiayuan.patrol import policies as patrol_policies
from jiayuan.patrol import service as patrol
from jiayuan.patrol.schemas import PlanOut, SlotOut
from jiayuan.patrol.states import SlotState
from jiayuan.registry.service import directory, structure
from jiayuan.web import i18n
from jiayuan.web.i18n import N_

# Who works from the phone: grid workers, and the office staff who go out too.
PHONE_ROLES = (Role.GRID, Role.STAFF, Role.ADMIN)
CASES_SHOWN = 50
# How many patrol slots a phone lists.
SLOTS_SHOWN = 12
PhoneVerb = Literal["accept", "arrive", "handle"]
_VERB_LABELS = {"accept": N_("受理"), "arrive": N_("到场"), "handle": N_("处置")}
# The one step a phone offers in each state of the loop (an accepted case is taken on: dispatched to oneself).
_VERB_OF_STATE: dict[CaseState, PhoneVerb] = {
    CaseState.REPORTED: "accept",
    CaseState.ACCEPTED: "accept",
    CaseState.DISPATCHED: "arrive",
    CaseState.ON_SITE: "handle",
}


def may_use_phone(actor: Principal) -> bool:
    """Whether the role has a phone face (grid workers and the office)."""
    return actor.role in PHONE_ROLES


def require_phone(actor: Principal) -> None:
    """Other roles have no phone face (residents get theirs at /h5)."""
    if not may_use_phone(actor):
        raise Forbidden("该角色没有网格员手机页")


class PhoneAction(BaseModel):
    """A button on a case: what it does, its label, whether it asks for a note and offers a photo."""

    verb: PhoneVerb
    label: str
    note_required: bool
    photo: bool


class PhoneCase(BaseModel):
    """A case as a phone lists it."""

    id: int
    title: str
    category_label: str
    source_label: str
    state: CaseState
    state_label: str
    place: str
    description: str
    reported_at: str
    due_at: str
    overdue: bool
    mine: bool
    assignee_name: str | None
    snapshot_url: str | None
    gate_id: int | None
    device_id: str | None
    actions: list[PhoneAction]


class PhoneShift(BaseModel):
    """One of my shifts today."""

    id: int
    duty_role_label: str
    place_name: str
    span: str
    now: bool
    signed_in: bool
    signed_out: bool


class PhoneSlot(BaseModel):
    """A patrol slot of one of my plans."""

    plan_id: int
    plan_name: str
    slot: datetime
    slot_label: str
    state: SlotState
    state_label: str
    round_id: int | None
    by_name: str | None


class PhonePlan(BaseModel):
    """A patrol plan: its cameras and each camera's checklist (to record a round)."""

    id: int
    name: str
    cameras: list[dict[str, object]]


class PhoneState(BaseModel):
    """Everything the phone shows at once."""

    user_name: str = Field(description="登录名（本机待发送的操作按它分开保存）")
    display_name: str
    role: Role
    role_label: str
    grids: list[str]
    at: str
    cases: list[PhoneCase]
    shifts: list[PhoneShift]
    slots: list[PhoneSlot]
    plans: list[PhonePlan]


class PhoneActionIn(BaseModel):
    """An action from the phone, with the id the phone gave it (kept when it is sent again)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: PhoneVerb = Field(description="accept 受理 / arrive 到场 / handle 处置")
    note: str = Field(default="", max_length=500, description="说明；处置时必须写明处置情况")
    # 60 characters: 受理's second step (the dispatch) carries the id with `:d`.
    request_id: str = Field(
        min_length=8,
        max_length=60,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="手机为这次操作生成的编号（字母、数字、- 或 _），重发时不变，只执行一次",
    )
    attachment_ids: RowIdList = Field(default=[], description="先上传的现场照片（至多 6 张）")


class PhoneActionOut(BaseModel):
    """The case after the action; `repeated` when the action had already been taken (a resend)."""

    case: PhoneCase
    repeated: bool


def phone_state(session: Session, *, actor: Principal, now: datetime | None = None) -> PhoneState:
    """My open cases (mine first), my shifts today, my patrol plans' slots around now."""
    require_phone(actor)
    now = now or utcnow()
    grids = [g.name for g in structure.list_grids(session, actor=actor)] if actor.role is Role.GRID else []
    names = users.display_names(session, [actor.user_id]) if actor.user_id else {}
    return PhoneState(
        user_name=actor.username,
        display_name=names.get(actor.user_id, actor.username) if actor.user_id else actor.username,
        role=actor.role,
        role_label=i18n.translate_in(ROLE_CONTEXT, ROLE_LABELS[actor.role]),
        grids=grids,
        at=local(now).strftime("%m-%d %H:%M"),
        cases=my_cases(session, actor=actor),
        shifts=_my_shifts(session, actor, now),
        slots=_my_slots(session, actor, now) if patrol_policies.may_read(actor) else [],
        plans=_my_plans(session, actor) if patrol_policies.may_read(actor) else [],
    )


def my_cases(session: Session, *, actor: Principal) -> list[PhoneCase]:
    """The open cases handed to me first, then (a grid worker) my grids' other open ones."""
    wanted = CaseFilter(open_only=True, mine=actor.role is not Role.GRID)
    every = PageParams(size=MAX_PAGE_SIZE)
    found = reads.list_cases(session, actor=actor, params=every, filters=wanted).items
    mine = [c for c in found if c.assignee_user_id == actor.user_id]
    others = [c for c in found if c.assignee_user_id != actor.user_id]
    return [phone_case(actor, c) for c in (mine + others)[:CASES_SHOWN]]


def phone_case(actor: Principal, case: CaseOut) -> PhoneCase:
    """A case with the buttons this person may press on it now."""
    snapshot = case.evidence.get("snapshot")
    has_snapshot = isinstance(snapshot, str) and case.device_id is not None
    snapshot_url = f"/api/v1/m/cases/{case.id}/snapshot.jpg" if has_snapshot else None
    return PhoneCase(
        id=case.id,
        title=case.title,
        category_label=i18n.translate(case.category_label),
        source_label=i18n.translate(_SOURCE_LABELS[case.source]) if case.source in _SOURCE_LABELS else "",
        state=case.state,
        state_label=i18n.translate(case.state_label),
        place=case.place,
        description=case.description,
        reported_at=local(case.reported_at).strftime("%m-%d %H:%M"),
        due_at=local(case.due_at).strftime("%m-%d %H:%M") if case.due_at else "",
        overdue=case.overdue,
        mine=case.assignee_user_id is not None and case.assignee_user_id == actor.user_id,
        assignee_name=case.assignee_name,
        snapshot_url=snapshot_url,
        gate_id=case.gate_id,
        device_id=case.device_id,
        actions=_actions(actor, case),
    )


_SOURCE_LABELS = {
    Source.RESIDENT: N_("居民上报"),
    Source.STAFF: N_("工作人员上报"),
    Source.GRID: N_("网格员上报"),
    Source.GATE: N_("门岗告警"),
    Source.CAMERA: N_("摄像机告警"),
    Source.PATROL: N_("视频巡查"),
}


def _actions(actor: Principal, case: CaseOut) -> list[PhoneAction]:
    verb = _VERB_OF_STATE.get(case.state)
    if verb is None or not case_policies.may_work_on(
        actor, CaseAction(verb), assignee_user_id=case.assignee_user_id
    ):
        return []
    label = i18n.translate(_VERB_LABELS[verb])
    return [PhoneAction(verb=verb, label=label, note_required=verb == "handle", photo=verb != "accept")]


def take(session: Session, *, actor: Principal, case_id: int, data: PhoneActionIn) -> PhoneActionOut:
    """Take the phone's action through the cases service (which checks scope and state, and takes a
    step whose request id it already has only once).

    受理 accepts the case and confirms whom it goes to (the worker it was handed to, else the person
    pressing), so the worker can go on site next; its two steps carry the phone's request id and that
    id with `:d`. A resend is answered with the case as it stands, marked `repeated`."""
    require_phone(actor)
    if data.action == "handle" and len(data.note) < 2:
        raise Invalid("请写明处置情况", field="note")
    before = reads.show_case(session, actor=actor, case_id=case_id)
    photos = list(data.attachment_ids)
    if data.action == "accept":
        state = before.state
        if state is not CaseState.ACCEPTED:
            accept = ActionIn(
                action=CaseAction.ACCEPT, note=data.note, attachment_ids=photos, request_id=data.request_id
            )
            state = workflow.act(session, actor=actor, case_id=case_id, data=accept).state
            photos = []
        if state is CaseState.ACCEPTED:
            to = before.assignee_user_id or actor.user_id
            note = "手机受理，确认由本人处置" if to == actor.user_id else "手机受理，按值班表派遣"
            dispatch = ActionIn(
                action=CaseAction.DISPATCH,
                note=note,
                assignee_user_id=to,
                attachment_ids=photos,
                request_id=f"{data.request_id}:d",
            )
            workflow.act(session, actor=actor, case_id=case_id, data=dispatch)
    else:
        action = CaseAction.ARRIVE if data.action == "arrive" else CaseAction.HANDLE
        step = ActionIn(action=action, note=data.note, attachment_ids=photos, request_id=data.request_id)
        workflow.act(session, actor=actor, case_id=case_id, data=step)
    after = reads.show_case(session, actor=actor, case_id=case_id)
    return PhoneActionOut(case=phone_case(actor, after), repeated=len(after.steps) == len(before.steps))


def case_for_phone(session: Session, *, actor: Principal, case_id: int) -> PhoneCase:
    """One case within reach as the phone shows it (NotFound out of reach, as the service says)."""
    require_phone(actor)
    return phone_case(actor, reads.show_case(session, actor=actor, case_id=case_id))


def stream_communities(session: Session, *, actor: Principal) -> frozenset[int]:
    """The communities whose case changes the phone's stream looks at: the account's own and those of
    its grids (each change is then read through the cases service, which decides)."""
    found = set(actor.community_ids)
    for grid_id in actor.grid_ids:
        community = directory.community_of_scope(session, "grid", str(grid_id))
        if community is not None:
            found.add(community)
    return frozenset(found)


class PhonePush(BaseModel):
    """What the phone's socket sends when a case within reach changes: the case, and whether to ring
    (it was just handed to me by someone else, or it is new in my grid with nobody on it)."""

    event: Literal["case"] = "case"
    case: PhoneCase
    alert: bool


_HANDED_OVER = (None, "dispatch", "escalate")


def push_for(session: Session, *, actor: Principal, case_id: int, action: str | None) -> PhonePush | None:
    """The push for a changed case, or None when it is out of the actor's reach (read through the cases
    service, which checks the scope) or already closed."""
    try:
        case = reads.show_case(session, actor=actor, case_id=case_id)
    except (Forbidden, NotFound):
        return None
    shown = phone_case(actor, case)
    last = case.steps[-1] if case.steps else None
    # Only the message of the latest step rings: one commit may carry a report, its 受理 and 派遣.
    latest = last is not None and (
        last.from_state is None if action is None else (last.from_state is not None and last.action == action)
    )
    by_me = last is not None and last.actor_name == actor.username[:64]
    unclaimed = action is None and case.assignee_user_id is None and actor.role is Role.GRID
    alert = latest and action in _HANDED_OVER and not by_me and (shown.mine or unclaimed)
    return PhonePush(case=shown, alert=alert)


def _my_shifts(session: Session, actor: Principal, now: datetime) -> list[PhoneShift]:
    if not duty_policies.may_read(actor) or actor.user_id is None:
        return []
    today = local(now).date()
    found = []
    for community_id in people.home_communities(session, actor=actor):
        found += shifts.list_shifts(session, actor=actor, community_id=community_id, start=today, end=today)
    mine = sorted((s for s in found if s.user_id == actor.user_id), key=lambda s: s.starts_at)
    return [
        PhoneShift(
            id=s.id,
            duty_role_label=i18n.translate(s.duty_role_label),
            place_name=s.in_language(i18n.text).place_name,
            span=f"{local(s.starts_at):%H:%M}–{local(s.ends_at):%H:%M}",
            now=s.starts_at <= now < s.ends_at,
            signed_in=s.signed_in_at is not None,
            signed_out=s.signed_out_at is not None,
        )
        for s in mine
    ]


def _my_slots(session: Session, actor: Principal, now: datetime) -> list[PhoneSlot]:
    """What to patrol now first, then the next slot of each plan, then the last day's done and missed."""
    plans = {p.id: p for p in patrol.list_plans(session, actor=actor)}
    if not plans:
        return []
    found: list[SlotOut] = patrol.slots(
        session, actor=actor, since=now - timedelta(hours=24), until=now + timedelta(hours=6), now=now
    )
    active = [s for s in found if s.state in (SlotState.DUE, SlotState.IN_PROGRESS)]
    upcoming = sorted((s for s in found if s.state is SlotState.UPCOMING), key=lambda s: s.slot)
    following = list({s.plan_id: s for s in reversed(upcoming)}.values())
    past = [s for s in found if s.state in (SlotState.DONE, SlotState.MISSED)]
    return [
        PhoneSlot(
            plan_id=s.plan_id,
            plan_name=plans[s.plan_id].name if s.plan_id in plans else "",
            slot=s.slot,
            slot_label=f"{local(s.slot):%m-%d %H:%M}",
            state=s.state,
            state_label=i18n.translate(s.state_label),
            round_id=s.round_id,
            by_name=s.by_name,
        )
        for s in (active + following + past)[:SLOTS_SHOWN]
    ]


def _my_plans(session: Session, actor: Principal) -> list[PhonePlan]:
    found: list[PlanOut] = patrol.list_plans(session, actor=actor)
    return [
        PhonePlan(
            id=p.id,
            name=p.name,
            cameras=[{"device_id": c.device_id, "name": c.name, "checklist": c.checklist} for c in p.cameras],
        )
        for p in found
    ]
