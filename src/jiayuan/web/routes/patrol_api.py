"""视频巡查 over the API: plans, slots and their state, rounds camera by camera, the tally."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.clock import InputDatetime
from jiayuan.kernel.ids import MAX_ROW_ID
from jiayuan.patrol import service
from jiayuan.patrol.schemas import (
    CheckIn,
    CheckOut,
    PatrolTally,
    PlanChange,
    PlanIn,
    PlanOut,
    RoundOut,
    SlotOut,
    StartIn,
)
from jiayuan.web.auth import CurrentPrincipal
from jiayuan.web.deps import ContextDep, RowId, SessionDep
from jiayuan.web.routes.vision_pages import live_relay

router = APIRouter(prefix="/api/v1/patrol", tags=["patrol"])


@router.get("/plans", response_model=list[PlanOut])
def plans(principal: CurrentPrincipal, session: SessionDep) -> list[PlanOut]:
    """The patrol plans of the caller's communities."""
    return service.list_plans(session, actor=principal)


@router.post("/plans", response_model=PlanOut, status_code=201)
def create_plan(body: PlanIn, principal: CurrentPrincipal, session: SessionDep) -> PlanOut:
    """A plan: which cameras, what to check on each, how often (admins and staff)."""
    return service.create_plan(session, actor=principal, data=body)


@router.patch("/plans/{plan_id}", response_model=PlanOut)
def update_plan(
    plan_id: RowId, body: PlanChange, principal: CurrentPrincipal, session: SessionDep
) -> PlanOut:
    """Change a plan (what is left out stays); `active` false pauses it, true resumes it."""
    return service.update_plan(session, actor=principal, plan_id=plan_id, data=body)


@router.post("/plans/{plan_id}/retire", response_model=PlanOut)
def retire_plan(plan_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> PlanOut:
    """Stop a plan for good, keeping its rounds and its place in the statistics."""
    return service.retire_plan(session, actor=principal, plan_id=plan_id)


@router.delete("/plans/{plan_id}", status_code=204)
def delete_plan(plan_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> Response:
    """Delete a plan nothing was due for yet (409 once it has a past: retire it instead)."""
    service.delete_plan(session, actor=principal, plan_id=plan_id)
    return Response(status_code=204)


@router.get("/slots", response_model=list[SlotOut])
def slots(
    principal: CurrentPrincipal,
    session: SessionDep,
    plan_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    since: InputDatetime | None = None,
    until: InputDatetime | None = None,
) -> list[SlotOut]:
    """Each plan's rounds from `since` to `until` (default: the last 24 hours and the next 6), newest
    first: upcoming, due, in progress, done or missed."""
    return service.slots(session, actor=principal, plan_id=plan_id, since=since, until=until)


@router.post("/rounds", response_model=RoundOut, status_code=201)
def start_round(body: StartIn, principal: CurrentPrincipal, session: SessionDep) -> RoundOut:
    """Begin the round of a due slot."""
    return service.start_round(session, actor=principal, data=body)


@router.get("/rounds/{round_id}", response_model=RoundOut)
def show_round(round_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> RoundOut:
    """A round and the cameras looked at so far."""
    return service.show_round(session, actor=principal, round_id=round_id)


@router.post("/rounds/{round_id}/checks", response_model=CheckOut, status_code=201)
def check(
    round_id: RowId,
    body: CheckIn,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    context: ContextDep,
) -> CheckOut:
    """One camera looked at; the frame on screen now is kept with it, and a finding opens a case."""
    relay = live_relay(request, context)
    frame = relay.latest(body.device_id) if relay is not None else None
    return service.record_check(
        session,
        actor=principal,
        round_id=round_id,
        data=body,
        files=SnapshotFiles(context.settings.var_dir),
        picture=frame.jpeg if frame is not None else None,
    )


@router.post("/rounds/{round_id}/finish", response_model=RoundOut)
def finish(round_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> RoundOut:
    """Close the round once every camera has been looked at."""
    return service.finish_round(session, actor=principal, round_id=round_id)


@router.get("/tally", response_model=PatrolTally)
def tally(
    principal: CurrentPrincipal, session: SessionDep, since: InputDatetime, until: InputDatetime
) -> PatrolTally:
    """Rounds due, done and missed, and findings, over a period."""
    return service.tally(session, actor=principal, since=since, until=until)
