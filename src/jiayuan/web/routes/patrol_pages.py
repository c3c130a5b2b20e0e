"""Console page 视频巡查: each plan's rounds (due, done, missed), and a round made camera by camera:
the live picture, the checklist, a note, and a finding that opens a case (CSRF-checked forms)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import Response

from jiayuan.cases.schemas import CATEGORY_LABELS, Category
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.errors import JiayuanError
from jiayuan.patrol import service
from jiayuan.patrol.schemas import CheckIn, StartIn
from jiayuan.web.auth import PagePrincipal
from jiayuan.web.deps import ContextDep, RowId, SessionDep
from jiayuan.web.routes.vision_pages import live_relay
from jiayuan.web.templating import render

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
# What a patrol is likely to find (the case categories a camera can show).
FINDING_CATEGORIES = [
    Category.SAFETY,
    Category.LOITERING,
    Category.SANITATION,
    Category.REPAIR,
    Category.OTHER,
]


@router.get("/patrol")
def patrol_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    notice: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The plans of the user's communities with their rounds of the last day and the next hours."""
    plans = service.list_plans(session, actor=principal)
    slots = service.slots(session, actor=principal)
    return render(
        request,
        "patrol/plans.html",
        {"plans": plans, "slots": slots, "notice": notice, "error": error},
    )


@router.post("/patrol/rounds")
def start_round(
    principal: PagePrincipal,
    session: SessionDep,
    plan_id: Annotated[int, Form(ge=1)],
    slot: Annotated[datetime, Form()],
) -> Response:
    """Begin a due round and go to it (or back to the plans with why not)."""
    try:
        begun = service.start_round(session, actor=principal, data=StartIn(plan_id=plan_id, slot=slot))
    except (JiayuanError, ValidationError) as exc:
        session.rollback()
        message = exc.message if isinstance(exc, JiayuanError) else "巡查时间有误"
        return RedirectResponse(f"/console/patrol?error={quote(message)}", status_code=303)
    return RedirectResponse(f"/console/patrol/rounds/{begun.id}", status_code=303)


@router.get("/patrol/rounds/{round_id}")
def round_page(
    request: Request,
    round_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    notice: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """A round: each camera with its live picture and checklist, the ones already looked at ticked."""
    return _round_view(request, principal, session, round_id, notice=notice)


@router.post("/patrol/rounds/{round_id}/checks")
async def check(
    request: Request,
    round_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    context: ContextDep,
) -> Response:
    """One camera looked at: the ticked items are as they should be; a finding opens a case."""
    form = await request.form()
    device_id = str(form.get("device_id", ""))[:64]
    try:
        data = CheckIn.model_validate(_check_body(form, device_id))
        relay = live_relay(request, context)
        frame = relay.latest(device_id) if relay is not None else None
        service.record_check(
            session, actor=principal, round_id=round_id, data=data,
            files=SnapshotFiles(context.settings.var_dir), picture=frame.jpeg if frame else None,
        )  # fmt: skip
    except ValidationError as exc:
        message = "输入有误：" + "；".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        return _round_view(request, principal, session, round_id, error=message, status_code=422)
    except JiayuanError as exc:
        session.rollback()
        return _round_view(request, principal, session, round_id, error=exc.message, status_code=exc.status)
    notice = quote(f"已记录 {device_id}" + ("，已生成事件" if data.finding else ""))
    return RedirectResponse(f"/console/patrol/rounds/{round_id}?notice={notice}", status_code=303)


@router.post("/patrol/rounds/{round_id}/finish")
def finish(request: Request, round_id: RowId, principal: PagePrincipal, session: SessionDep) -> Response:
    """Close the round once every camera has been looked at."""
    try:
        service.finish_round(session, actor=principal, round_id=round_id)
    except JiayuanError as exc:
        session.rollback()
        return _round_view(request, principal, session, round_id, error=exc.message, status_code=exc.status)
    return RedirectResponse(f"/console/patrol?notice={quote('本轮巡查已完成')}", status_code=303)


def _check_body(form: FormData, device_id: str) -> dict[str, object]:
    """The form as the service's input: every checklist item is listed in `items`, the ticked ones
    in `ok`; a finding when its title is filled in."""
    ticked = set(form.getlist("ok"))
    body: dict[str, object] = {
        "device_id": device_id,
        "answers": {str(item): item in ticked for item in form.getlist("items")},
        "note": str(form.get("note", ""))[:500],
    }
    title = str(form.get("finding_title", "")).strip()
    if title:
        body["finding"] = {"title": title[:64], "category": str(form.get("finding_category", "safety"))}
    return body


def _round_view(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    round_id: int,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    patrol = service.show_round(session, actor=principal, round_id=round_id)
    [plan] = [p for p in service.list_plans(session, actor=principal) if p.id == patrol.plan_id]
    looked = {c.device_id: c for c in patrol.checks}
    values = {
        "patrol": patrol, "plan": plan, "looked": looked, "notice": notice, "error": error,
        "categories": [(c.value, CATEGORY_LABELS[c]) for c in FINDING_CATEGORIES],
    }  # fmt: skip
    return render(request, "patrol/round.html", values, status_code=status_code)
