"""Console page 视频巡查: each plan's rounds (due, done, missed), the plan form (cameras in order, a
checklist each, the schedule) with pause, resume, retire and delete, and a round made camera by camera:
the live picture, the checklist, a note, and a finding that opens a case (CSRF-checked forms)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from starlette.datastructures import FormData
from starlette.responses import Response

from jiayuan.cases.schemas import CATEGORY_LABELS, Category
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.errors import JiayuanError, NotFound
from jiayuan.kernel.i18n import N_
from jiayuan.kernel.numbers import whole_number
from jiayuan.patrol import policies, service
from jiayuan.patrol.schemas import CheckIn, PlanChange, PlanIn, PlanOut, Refused, StartIn
from jiayuan.web import i18n
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
    values = {
        "plans": plans, "slots": slots, "notice": notice, "error": error,
        "may_plan": policies.may_plan(principal),
    }  # fmt: skip
    return render(request, "patrol/plans.html", values)


# The form's fields as a person reads them, to name the field in a message.
FIELD_LABELS = {
    "name": N_("计划名称"),
    "cameras": N_("摄像机"),
    "every_minutes": N_("巡查间隔"),
    "window_start": N_("开始时间"),
    "window_end": N_("结束时间"),
    "grace_minutes": N_("完成时限"),
    "community_id": N_("社区"),
}


class _FormError(Exception):
    """A field of the plan form that cannot be read (before the schema sees it)."""


@router.get("/patrol/plans/new")
def new_plan_page(request: Request, principal: PagePrincipal, session: SessionDep) -> Response:
    """The form for a new plan."""
    return _plan_form(request, principal, session, None, {})


@router.post("/patrol/plans")
async def create_plan(request: Request, principal: PagePrincipal, session: SessionDep) -> Response:
    """Create a plan from the form, or show the form again with what is wrong."""
    form = await request.form()
    try:
        body = _plan_body(form)
        choices = {c.device_id: c for c in service.camera_choices(session, actor=principal)}
        picked = [choices[d] for d in form.getlist("cam") if isinstance(d, str) and d in choices]
        body["community_id"] = picked[0].community_id if picked else min(principal.community_ids, default=1)
        created = service.create_plan(session, actor=principal, data=PlanIn.model_validate(body))
    except (_FormError, ValidationError, JiayuanError) as exc:
        session.rollback()
        return _plan_form(request, principal, session, None, form, error=_message(exc))
    notice = quote(i18n.translate("已创建巡查计划“{name}”").format(name=created.name))
    return RedirectResponse(f"/console/patrol?notice={notice}#plan-{created.id}", status_code=303)


@router.get("/patrol/plans/{plan_id}")
def edit_plan_page(
    request: Request, plan_id: RowId, principal: PagePrincipal, session: SessionDep
) -> Response:
    """The form for changing a plan, filled with what it is now."""
    plan = _editable(session, principal, plan_id)
    return _plan_form(request, principal, session, plan, {})


@router.post("/patrol/plans/{plan_id}")
async def update_plan(
    request: Request, plan_id: RowId, principal: PagePrincipal, session: SessionDep
) -> Response:
    """Save the form's changes to a plan, or show the form again with what is wrong."""
    plan = _editable(session, principal, plan_id)
    form = await request.form()
    try:
        changed = service.update_plan(
            session, actor=principal, plan_id=plan_id, data=PlanChange.model_validate(_plan_body(form))
        )
    except (_FormError, ValidationError, JiayuanError) as exc:
        session.rollback()
        return _plan_form(request, principal, session, plan, form, error=_message(exc))
    notice = quote(i18n.translate("已保存巡查计划“{name}”").format(name=changed.name))
    return RedirectResponse(f"/console/patrol?notice={notice}#plan-{plan_id}", status_code=303)


@router.post("/patrol/plans/{plan_id}/state")
def plan_state(
    plan_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    action: Annotated[str, Form(pattern="^(pause|resume|retire|delete)$")],
) -> Response:
    """Pause, resume, retire or delete a plan; back to the plans with what happened or why not."""
    try:
        if action == "retire":
            service.retire_plan(session, actor=principal, plan_id=plan_id)
            notice = i18n.translate("计划已停用，巡查记录和统计保留")
        elif action == "delete":
            service.delete_plan(session, actor=principal, plan_id=plan_id)
            notice = i18n.translate("计划已删除")
        else:
            active = action == "resume"
            service.update_plan(session, actor=principal, plan_id=plan_id, data=PlanChange(active=active))
            notice = (
                i18n.translate("计划已恢复") if active else i18n.translate("计划已暂停，暂停期间不计漏巡")
            )
    except JiayuanError as exc:
        session.rollback()
        return RedirectResponse(f"/console/patrol?error={quote(i18n.error_text(exc))}", status_code=303)
    return RedirectResponse(f"/console/patrol?notice={quote(notice)}", status_code=303)


def _editable(session: SessionDep, principal: PagePrincipal, plan_id: int) -> PlanOut:
    """A plan the principal may change, as shown (another community's reads as missing)."""
    policies.require_may_plan(principal)
    found = [p for p in service.list_plans(session, actor=principal) if p.id == plan_id]
    if not found:
        raise NotFound("巡查计划不存在", field="plan_id")
    return found[0]


def _plan_body(form: FormData) -> dict[str, object]:
    """The plan form as the service's input: the ticked cameras ordered by their order numbers (then as
    listed), each with its checklist written one item a line (blank lines skipped)."""
    picked = [str(d)[:64] for d in form.getlist("cam")]
    ranked = []
    for index, device_id in enumerate(picked):
        order = str(form.get(f"order.{device_id}", "")).strip()
        rank = whole_number(order) if order else 10_000
        if rank is None:
            raise _FormError(i18n.translate("摄像机 {device} 的顺序须为数字").format(device=device_id))
        ranked.append((rank, index, device_id))
    cameras = [
        {"device_id": device_id, "checklist": _lines(form.get(f"checklist.{device_id}"))}
        for _, _, device_id in sorted(ranked)
    ]
    body: dict[str, object] = {
        "name": str(form.get("name", ""))[:200],
        "cameras": cameras,
        "window_start": str(form.get("window_start", "")).strip()[:20],
        "window_end": str(form.get("window_end", "")).strip()[:20],
        "every_minutes": _minutes(form, "every_minutes", required=True),
    }
    grace = _minutes(form, "grace_minutes", required=False)
    if grace is not None:
        body["grace_minutes"] = grace
    return body


def _lines(value: object) -> list[str]:
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]


def _minutes(form: FormData, key: str, *, required: bool) -> int | None:
    text = str(form.get(key, "")).strip()
    if not text and not required:
        return None
    minutes = whole_number(text, max_digits=5)
    if minutes is None:
        raise _FormError(
            i18n.translate("{field}：请填写分钟数（整数）").format(field=i18n.translate(FIELD_LABELS[key]))
        )
    return minutes


def _message(exc: Exception) -> str:
    """What is wrong, in the page's language, naming the field."""
    if isinstance(exc, JiayuanError):
        return i18n.error_text(exc)
    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors():
            field = FIELD_LABELS.get(str(error["loc"][0]), str(error["loc"][0])) if error["loc"] else ""
            field, text = i18n.translate(field), _said(error)
            parts.append(
                text
                if text.startswith(field)
                else i18n.translate("{field}：{text}").format(field=field, text=text)
            )
        return i18n.translate("输入有误：") + i18n.translate("；").join(parts)
    return i18n.translate("输入有误：") + str(exc)


def _said(error: ErrorDetails) -> str:
    """A schema's refusal in the page's language (a bound of a plan), else as pydantic words it."""
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, Refused):
        return i18n.translate(cause.template).format(**cause.params)
    return str(error["msg"]).removeprefix("Value error, ")


def _plan_form(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    plan: PlanOut | None,
    form: FormData | dict[str, str],
    *,
    error: str | None = None,
) -> Response:
    """The plan form: every camera the planner may choose (a plan's own community only, once made),
    those of the plan first, in its order; what was typed is kept after an error."""
    choices = service.camera_choices(session, actor=principal)
    if plan is not None:
        choices = [c for c in choices if c.community_id == plan.community_id]
    own = {c.device_id: (n, c.checklist) for n, c in enumerate(plan.cameras)} if plan else {}
    choices.sort(
        key=lambda c: (own[c.device_id][0] if c.device_id in own else len(own), c.gate_name or "", c.name)
    )
    typed = isinstance(form, FormData)
    ticked = set(form.getlist("cam")) if isinstance(form, FormData) else set(own)
    rows = []
    for c in choices:
        position, checklist = own.get(c.device_id, (None, []))
        if typed:
            order = str(form.get(f"order.{c.device_id}", ""))
            items = str(form.get(f"checklist.{c.device_id}", ""))
        else:
            order, items = ("" if position is None else str(position + 1)), "\n".join(checklist)
        label = f"{c.gate_name or ''} {c.name}".strip()
        rows.append(
            {"device_id": c.device_id, "label": label, "ticked": c.device_id in ticked, "order": order,
             "checklist": items}
        )  # fmt: skip
    values: dict[str, object] = {
        "plan": plan, "rows": rows, "error": error,
        "field": {
            key: form.get(key, "") if typed else (getattr(plan, key) if plan else default)
            for key, default in (
                ("name", ""), ("every_minutes", 120), ("window_start", "20:00"), ("window_end", "06:00"),
                ("grace_minutes", ""),
            )
        },
    }  # fmt: skip
    return render(request, "patrol/plan_form.html", values, status_code=422 if error else 200)


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
        message = i18n.error_text(exc) if isinstance(exc, JiayuanError) else i18n.translate("巡查时间有误")
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
        message = i18n.translate("输入有误：") + i18n.translate("；").join(_said(e) for e in exc.errors())
        return _round_view(request, principal, session, round_id, error=message, status_code=422)
    except JiayuanError as exc:
        session.rollback()
        return _round_view(
            request, principal, session, round_id, error=i18n.error_text(exc), status_code=exc.status
        )
    recorded = (
        i18n.translate("已记录 {device}，已生成事件") if data.finding else i18n.translate("已记录 {device}")
    )
    notice = quote(recorded.format(device=device_id))
    return RedirectResponse(f"/console/patrol/rounds/{round_id}?notice={notice}", status_code=303)


@router.post("/patrol/rounds/{round_id}/finish")
def finish(request: Request, round_id: RowId, principal: PagePrincipal, session: SessionDep) -> Response:
    """Close the round once every camera has been looked at."""
    try:
        service.finish_round(session, actor=principal, round_id=round_id)
    except JiayuanError as exc:
        session.rollback()
        return _round_view(
            request, principal, session, round_id, error=i18n.error_text(exc), status_code=exc.status
        )
    return RedirectResponse(
        f"/console/patrol?notice={quote(i18n.translate('本轮巡查已完成'))}", status_code=303
    )


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
