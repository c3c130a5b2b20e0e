"""Console page 值班: who is on duty now, a community's week per grid and gate, and the editor forms
(one-off shifts, weekly templates, holidays, swaps, sign-in; CSRF-checked, every write audited)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from jiayuan.duty import policies
from jiayuan.duty.schemas import (
    ApplyIn,
    DutyRole,
    HolidayIn,
    PlaceKind,
    ShiftIn,
    SwapIn,
    TemplateIn,
)
from jiayuan.duty.service import on_duty, people, shifts, templates
from jiayuan.kernel.clock import InputDate, local, utcnow
from jiayuan.kernel.errors import JiayuanError, NotFound
from jiayuan.kernel.i18n import N_
from jiayuan.kernel.ids import MAX_ROW_ID
from jiayuan.kernel.principal import Principal
from jiayuan.web import i18n
from jiayuan.web.auth import PagePrincipal
from jiayuan.web.deps import RowId, SessionDep
from jiayuan.web.templating import render

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)

CommunityQuery = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]
WEEKDAYS = (N_("周一"), N_("周二"), N_("周三"), N_("周四"), N_("周五"), N_("周六"), N_("周日"))


def _community(session: Session, principal: Principal, community_id: int | None) -> int:
    communities = people.home_communities(session, actor=principal)
    if community_id is None:
        if not communities:
            raise NotFound(policies.NO_COMMUNITY, field="community_id")
        return communities[0]
    return community_id


def _monday(week: date | None) -> date:
    day = week or local(utcnow()).date()
    return day - timedelta(days=day.weekday())


def _week_values(session: Session, principal: Principal, community_id: int, monday: date) -> dict[str, Any]:
    """The week's shifts as rows of places by day, with the grids nobody covers."""
    sunday = monday + timedelta(days=6)
    now = on_duty.on_duty_now(session, actor=principal, community_id=community_id)
    week_shifts = shifts.list_shifts(
        session, actor=principal, community_id=community_id, start=monday, end=sunday
    )
    days = [monday + timedelta(days=i) for i in range(7)]
    rows = []
    for place in now.places:
        mine = [s for s in week_shifts if (s.place_kind, s.place_id) == (place.place_kind, place.place_id)]
        cells = [[s for s in mine if local(s.starts_at).date() == day] for day in days]
        rows.append({"place": place, "cells": cells})
    editor = policies.edits(principal, community_id)
    gaps = (
        on_duty.coverage_gaps(session, actor=principal, community_id=community_id, start=monday, end=sunday)
        if editor
        else []
    )
    return {
        "community_id": community_id,
        "monday": monday,
        "days": days,
        "weekdays": WEEKDAYS,
        "day_time": i18n.translate("%m月%d日 %H:%M"),
        "rows": rows,
        "now": now,
        "gaps": gaps,
        "editor": editor,
        "prev_week": monday - timedelta(days=7),
        "next_week": monday + timedelta(days=7),
    }


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    community_id: int | None,
    week: date | None,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    chosen = _community(session, principal, community_id)
    values = _week_values(session, principal, chosen, _monday(week))
    communities = people.home_communities(session, actor=principal)
    editor = values["editor"]
    values.update(
        notice=notice,
        error=error,
        communities=communities,
        roles=list(DutyRole),
        kinds=list(PlaceKind),
        templates=templates.list_templates(session, actor=principal, community_id=chosen) if editor else [],
        holidays=templates.list_holidays(session, actor=principal, community_id=chosen) if editor else [],
        people=people.candidates(session, actor=principal, community_id=chosen) if editor else [],
    )
    return render(request, "duty/roster.html", values, status_code=status_code)


@router.get("/duty")
def duty_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    community_id: CommunityQuery = None,
    week: Annotated[InputDate | None, Query()] = None,
    notice: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The roster of a community's week and who is on duty now; an htmx request gets the week only."""
    if request.headers.get("HX-Request") == "true":
        chosen = _community(session, principal, community_id)
        return render(request, "duty/_week.html", _week_values(session, principal, chosen, _monday(week)))
    return _page(request, session, principal, community_id, week, notice=notice)


@router.get("/duty/now")
def duty_now(
    request: Request, principal: PagePrincipal, session: SessionDep, community_id: CommunityQuery = None
) -> Response:
    """Who is on duty now (refreshed by htmx every minute)."""
    chosen = _community(session, principal, community_id)
    now = on_duty.on_duty_now(session, actor=principal, community_id=chosen)
    return render(request, "duty/_now.html", {"now": now, "community_id": chosen})


def _write(
    request: Request,
    session: Session,
    principal: Principal,
    community_id: int,
    week: str,
    build: Callable[[], BaseModel | None],
    done: Callable[[Any], str],
) -> Response:
    """Validate the form, call the service, then back to the week with what was done or why not."""
    monday = _parse_week(week)
    try:
        data = build()
        outcome = done(data)
    except ValidationError as exc:
        message = i18n.translate("输入有误：") + "；".join(
            f"{'.'.join(map(str, e['loc']))} {e['msg']}" for e in exc.errors()
        )
        return _page(request, session, principal, community_id, monday, error=message, status_code=422)
    except JiayuanError as exc:
        session.rollback()
        field = i18n.translate("（{field}）").format(field=exc.field) if exc.field else ""
        return _page(
            request,
            session,
            principal,
            community_id,
            monday,
            error=f"{i18n.error_text(exc)}{field}",
            status_code=exc.status,
        )
    query = {"community_id": community_id, "notice": outcome}
    if monday is not None:
        query["week"] = monday.isoformat()
    return RedirectResponse(f"/console/duty?{urlencode(query)}", status_code=303)


def _parse_week(week: str) -> date | None:
    try:
        return date.fromisoformat(week) if week else None
    except ValueError:
        return None


Text = Annotated[str, Form(max_length=32)]
Community = Annotated[int, Form(ge=1, le=MAX_ROW_ID)]


@router.post("/duty/shifts")
def add_shift(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    community_id: Community,
    user_id: Text = "",
    duty_role: Text = "",
    place: Text = "",
    starts_at: Text = "",
    ends_at: Text = "",
    note: Annotated[str, Form(max_length=200)] = "",
    week: Text = "",
) -> Response:
    """A one-off shift; `place` is `grid:ID`, `gate:ID` or `community`."""
    kind, _, ref = place.partition(":")

    def build() -> ShiftIn:
        return ShiftIn.model_validate(
            {
                "community_id": community_id,
                "user_id": user_id or None,
                "duty_role": duty_role or None,
                "place_kind": kind or None,
                "place_id": ref or None,
                "starts_at": starts_at or None,
                "ends_at": ends_at or None,
                "note": note,
            }
        )

    return _write(
        request,
        session,
        principal,
        community_id,
        week,
        build,
        lambda d: i18n.translate("已排班 #{id}").format(
            id=shifts.add_shift(session, actor=principal, data=d).id
        ),
    )


@router.post("/duty/shifts/{shift_id}/cancel")
def cancel_shift(
    request: Request,
    shift_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    community_id: Community,
    week: Text = "",
) -> Response:
    """Call a shift off."""

    def cancel(_: object) -> str:
        shifts.cancel_shift(session, actor=principal, shift_id=shift_id)
        return i18n.translate("已取消班次 #{id}").format(id=shift_id)

    return _write(request, session, principal, community_id, week, lambda: None, cancel)


@router.post("/duty/shifts/{shift_id}/sign-in")
def sign_in(
    request: Request,
    shift_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    community_id: Community,
    week: Text = "",
) -> Response:
    """签到 for one's own shift (or by the office)."""
    return _write(
        request,
        session,
        principal,
        community_id,
        week,
        lambda: None,
        lambda _: i18n.translate("{name} 已签到").format(
            name=shifts.sign_in(session, actor=principal, shift_id=shift_id).user_name
        ),
    )


@router.post("/duty/shifts/{shift_id}/sign-out")
def sign_out(
    request: Request,
    shift_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    community_id: Community,
    week: Text = "",
) -> Response:
    """签退."""
    return _write(
        request,
        session,
        principal,
        community_id,
        week,
        lambda: None,
        lambda _: i18n.translate("{name} 已签退").format(
            name=shifts.sign_out(session, actor=principal, shift_id=shift_id).user_name
        ),
    )


@router.post("/duty/swaps")
def swap(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    community_id: Community,
    first_shift_id: Text = "",
    second_shift_id: Text = "",
    week: Text = "",
) -> Response:
    """Two people trade shifts."""

    def build() -> SwapIn:
        return SwapIn.model_validate(
            {"first_shift_id": first_shift_id or None, "second_shift_id": second_shift_id or None}
        )

    def swap_them(data: SwapIn) -> str:
        first, second = shifts.swap_shifts(session, actor=principal, data=data)
        return i18n.translate("已调班：#{first} 由 {first_name} 值，#{second} 由 {second_name} 值").format(
            first=first.id, first_name=first.user_name, second=second.id, second_name=second.user_name
        )

    return _write(request, session, principal, community_id, week, build, swap_them)


@router.post("/duty/templates")
def add_template(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    community_id: Community,
    user_id: Text = "",
    duty_role: Text = "",
    place: Text = "",
    weekday: Text = "",
    start: Text = "",
    end: Text = "",
    week: Text = "",
) -> Response:
    """A weekly template."""
    kind, _, ref = place.partition(":")

    def build() -> TemplateIn:
        return TemplateIn.model_validate(
            {
                "community_id": community_id,
                "user_id": user_id or None,
                "duty_role": duty_role or None,
                "place_kind": kind or None,
                "place_id": ref or None,
                "weekday": weekday or None,
                "start": start,
                "end": end,
            }
        )

    return _write(
        request,
        session,
        principal,
        community_id,
        week,
        build,
        lambda d: i18n.translate("已添加模板 #{id}").format(
            id=templates.add_template(session, actor=principal, data=d).id
        ),
    )


@router.post("/duty/templates/{template_id}/remove")
def remove_template(
    request: Request,
    template_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    community_id: Community,
    week: Text = "",
) -> Response:
    """Remove a template and its shifts that have not started."""

    def remove(_: object) -> str:
        gone = templates.remove_template(session, actor=principal, template_id=template_id)
        return i18n.translate("已删除模板 #{id}，取消未开始的班次 {n} 个").format(id=template_id, n=gone)

    return _write(request, session, principal, community_id, week, lambda: None, remove)


@router.post("/duty/holidays")
def add_holiday(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    community_id: Community,
    day: Text = "",
    name: Text = "",
    week: Text = "",
) -> Response:
    """A date on which the templates are not applied."""

    def build() -> HolidayIn:
        return HolidayIn.model_validate({"community_id": community_id, "day": day or None, "name": name})

    return _write(
        request,
        session,
        principal,
        community_id,
        week,
        build,
        lambda d: i18n.translate("已设 {day} 为节假日").format(
            day=templates.add_holiday(session, actor=principal, data=d).day
        ),
    )


@router.post("/duty/holidays/{holiday_id}/remove")
def remove_holiday(
    request: Request,
    holiday_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    community_id: Community,
    week: Text = "",
) -> Response:
    """The templates apply on that date again."""

    def remove(_: object) -> str:
        templates.remove_holiday(session, actor=principal, holiday_id=holiday_id)
        return i18n.translate("已取消节假日 #{id}").format(id=holiday_id)

    return _write(request, session, principal, community_id, week, lambda: None, remove)


@router.post("/duty/apply")
def apply(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    community_id: Community,
    start: Text = "",
    end: Text = "",
    week: Text = "",
) -> Response:
    """Produce the templates' shifts for a period."""

    def build() -> ApplyIn:
        return ApplyIn.model_validate(
            {"community_id": community_id, "start": start or None, "end": end or None}
        )

    def run(data: ApplyIn) -> str:
        out = templates.apply_templates(session, actor=principal, data=data)
        made = i18n.translate("已生成班次 {created} 个（已有 {already} 个）").format(
            created=out.created, already=out.already
        )
        if out.holidays:
            made += i18n.translate("，节假日 {n} 天未排").format(n=len(out.holidays))
        return made

    return _write(request, session, principal, community_id, week, build, run)
