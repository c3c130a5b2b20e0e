"""JSON API of duty rosters: who is on duty now, shifts, weekly templates, holidays, swaps, sign-in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from jiayuan.duty.schemas import (
    ApplyIn,
    ApplyOut,
    DutyNow,
    GapOut,
    HolidayIn,
    HolidayOut,
    PersonOut,
    ShiftChange,
    ShiftIn,
    ShiftOut,
    SwapIn,
    TemplateIn,
    TemplateOut,
)
from jiayuan.duty.service import on_duty, people, shifts, templates
from jiayuan.kernel.clock import InputDate
from jiayuan.kernel.ids import MAX_ROW_ID
from jiayuan.web.auth import CurrentPrincipal
from jiayuan.web.deps import RowId, SessionDep

router = APIRouter(prefix="/api/v1/duty", tags=["duty"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "未登录"},
    403: {"description": "角色无权查看值班表"},
    404: {"description": "社区、班次或模板不存在或不在权限范围内"},
    409: {"description": "与当前状态冲突（已签到、已是节假日等）"},
    422: {"description": "输入有误（指出字段）"},
}
CommunityId = Annotated[int, Query(ge=1, le=MAX_ROW_ID, description="社区编号")]
OptionalCommunity = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="社区编号；不给则为全部")]
Start = Annotated[InputDate, Query(description="开始日期（北京时间，含）")]
End = Annotated[InputDate, Query(description="结束日期（北京时间，含）")]


@router.get("/now", response_model=DutyNow, responses=_ERRORS)
def now(principal: CurrentPrincipal, session: SessionDep, community_id: OptionalCommunity = None) -> DutyNow:
    """Who is on duty now at every grid, gate and community within reach (an empty list: nobody)."""
    return on_duty.on_duty_now(session, actor=principal, community_id=community_id)


@router.get("/people", response_model=list[PersonOut], responses=_ERRORS)
def list_people(
    principal: CurrentPrincipal, session: SessionDep, community_id: CommunityId
) -> list[PersonOut]:
    """Who may stand duty in a community (for its office's roster forms)."""
    return people.candidates(session, actor=principal, community_id=community_id)


@router.get("/shifts", response_model=list[ShiftOut], responses=_ERRORS)
def list_shifts(
    principal: CurrentPrincipal, session: SessionDep, community_id: CommunityId, start: Start, end: End
) -> list[ShiftOut]:
    """The shifts within reach of a community over some days (at most 62)."""
    return shifts.list_shifts(session, actor=principal, community_id=community_id, start=start, end=end)


@router.post("/shifts", response_model=ShiftOut, status_code=201, responses=_ERRORS)
def add_shift(data: ShiftIn, principal: CurrentPrincipal, session: SessionDep) -> ShiftOut:
    """A one-off shift (the community's office)."""
    return shifts.add_shift(session, actor=principal, data=data)


@router.patch("/shifts/{shift_id}", response_model=ShiftOut, responses=_ERRORS)
def change_shift(
    shift_id: RowId, data: ShiftChange, principal: CurrentPrincipal, session: SessionDep
) -> ShiftOut:
    """Another person or other times for one shift."""
    return shifts.change_shift(session, actor=principal, shift_id=shift_id, data=data)


@router.delete("/shifts/{shift_id}", status_code=204, responses=_ERRORS)
def cancel_shift(shift_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> Response:
    """Call a shift off (it stays on record)."""
    shifts.cancel_shift(session, actor=principal, shift_id=shift_id)
    return Response(status_code=204)


@router.post("/shifts/{shift_id}/sign-in", response_model=ShiftOut, responses=_ERRORS)
def sign_in(shift_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> ShiftOut:
    """签到 (the person on the shift, or the office)."""
    return shifts.sign_in(session, actor=principal, shift_id=shift_id)


@router.post("/shifts/{shift_id}/sign-out", response_model=ShiftOut, responses=_ERRORS)
def sign_out(shift_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> ShiftOut:
    """签退."""
    return shifts.sign_out(session, actor=principal, shift_id=shift_id)


@router.post("/swaps", response_model=list[ShiftOut], responses=_ERRORS)
def swap(data: SwapIn, principal: CurrentPrincipal, session: SessionDep) -> list[ShiftOut]:
    """Two people trade shifts."""
    return shifts.swap_shifts(session, actor=principal, data=data)


@router.get("/templates", response_model=list[TemplateOut], responses=_ERRORS)
def list_templates(
    principal: CurrentPrincipal, session: SessionDep, community_id: CommunityId
) -> list[TemplateOut]:
    """A community's weekly templates."""
    return templates.list_templates(session, actor=principal, community_id=community_id)


@router.post("/templates", response_model=TemplateOut, status_code=201, responses=_ERRORS)
def add_template(data: TemplateIn, principal: CurrentPrincipal, session: SessionDep) -> TemplateOut:
    """A weekly template (weekday 1–7, HH:MM to HH:MM Beijing time; an earlier end runs overnight)."""
    return templates.add_template(session, actor=principal, data=data)


@router.delete("/templates/{template_id}", status_code=204, responses=_ERRORS)
def remove_template(template_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> Response:
    """Remove a template and its shifts that have not started."""
    templates.remove_template(session, actor=principal, template_id=template_id)
    return Response(status_code=204)


@router.post("/apply", response_model=ApplyOut, responses=_ERRORS)
def apply(data: ApplyIn, principal: CurrentPrincipal, session: SessionDep) -> ApplyOut:
    """Produce the templates' shifts for a period, skipping holidays; twice adds nothing."""
    return templates.apply_templates(session, actor=principal, data=data)


@router.get("/holidays", response_model=list[HolidayOut], responses=_ERRORS)
def holidays(principal: CurrentPrincipal, session: SessionDep, community_id: CommunityId) -> list[HolidayOut]:
    """A community's holidays."""
    return templates.list_holidays(session, actor=principal, community_id=community_id)


@router.post("/holidays", response_model=HolidayOut, status_code=201, responses=_ERRORS)
def add_holiday(data: HolidayIn, principal: CurrentPrincipal, session: SessionDep) -> HolidayOut:
    """A date on which the templates are not applied."""
    return templates.add_holiday(session, actor=principal, data=data)


@router.delete("/holidays/{holiday_id}", status_code=204, responses=_ERRORS)
def remove_holiday(holiday_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> Response:
    """The templates apply on that date again."""
    templates.remove_holiday(session, actor=principal, holiday_id=holiday_id)
    return Response(status_code=204)


@router.get("/gaps", response_model=list[GapOut], responses=_ERRORS)
def gaps(
    principal: CurrentPrincipal, session: SessionDep, community_id: CommunityId, start: Start, end: End
) -> list[GapOut]:
    """Every stretch of the period in which nobody is on duty at a grid."""
    return on_duty.coverage_gaps(session, actor=principal, community_id=community_id, start=start, end=end)
