"""Console page 待辨认车牌 (under 闸口通行): the snapshots of vehicles whose plate no device could read,
with a CSRF-checked form to type the plate, or to mark the vehicle 无车牌/无法辨认."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from jiayuan.access import policies
from jiayuan.access.schemas import DIRECTION_LABELS, PlateReading
from jiayuan.access.service import plate_reviews
from jiayuan.cases.service import intake
from jiayuan.kernel.errors import Conflict, Invalid
from jiayuan.kernel.paging import MAX_PAGE, PageParams
from jiayuan.kernel.principal import Principal
from jiayuan.registry.schemas import PLATE_COLOR_LABELS
from jiayuan.web.auth import PagePrincipal
from jiayuan.web.deps import RowId, SessionDep
from jiayuan.web.templating import render

router = APIRouter(prefix="/console/flow", tags=["console"], include_in_schema=False)

PATH = "/console/flow/unread-plates"
# The form's fields as a person reads them, to name the field in a message.
FIELD_LABELS = {"plate": "车牌号码", "color": "车牌颜色", "direction": "方向"}


def _page(
    request: Request,
    principal: Principal,
    session: Session,
    *,
    page: int = 1,
    notice: str | None = None,
    error: str | None = None,
    error_id: int | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    results = plate_reviews.list_waiting(session, actor=principal, params=PageParams(page=page, size=20))
    values = {
        "results": results,
        "may_review": policies.may_review_plates(principal),
        "colors": PLATE_COLOR_LABELS,
        "directions": DIRECTION_LABELS,
        "notice": notice,
        "error": error,
        "error_id": error_id,
        "typed": typed or {},
    }
    return render(request, "access/unread_plates.html", values, status_code=status_code)


@router.get("/unread-plates")
def unread_plates_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    notice: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The unread plates in scope still waiting for a person, oldest first, each with its snapshot."""
    return _page(request, principal, session, page=page, notice=notice)


def _message(exc: ValidationError) -> str:
    """What is wrong with the form, in Chinese, naming each field."""
    fields = dict.fromkeys(str(e["loc"][0]) for e in exc.errors() if e["loc"])
    return "请填写或选择：" + "、".join(FIELD_LABELS.get(f, f) for f in fields)


@router.post("/unread-plates/{unread_id}/read")
def read_plate(
    request: Request,
    unread_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    plate: Annotated[str, Form(max_length=64)] = "",
    color: Annotated[str, Form(max_length=16)] = "",
    direction: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """The plate a person read on the snapshot: it becomes the vehicle's plate read (and any watch-list
    alarm opens its case); a wrong entry shows the page again with the field named."""
    typed = {"plate": plate, "color": color, "direction": direction}
    try:
        reading = PlateReading.model_validate(typed)
    except ValidationError as exc:
        plate_reviews.require_reviewable(session, actor=principal, unread_id=unread_id)
        return _page(request, principal, session, error=_message(exc), error_id=unread_id, typed=typed,
                     status_code=422)  # fmt: skip
    try:
        done = plate_reviews.read_plate(session, actor=principal, unread_id=unread_id, data=reading)
    except (Invalid, Conflict) as exc:
        session.rollback()
        return _page(request, principal, session, error=exc.message, error_id=unread_id, typed=typed,
                     status_code=exc.status)  # fmt: skip
    intake.open_cases(session)
    where = f"{done.gate_name} {DIRECTION_LABELS.get(reading.direction, '')}".strip()
    return RedirectResponse(f"{PATH}?notice={quote(f'已记录 {done.plate}（{where}）')}", status_code=303)


@router.post("/unread-plates/{unread_id}/dismiss")
def dismiss_plate(
    request: Request,
    unread_id: RowId,
    principal: PagePrincipal,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Mark the vehicle 无车牌/无法辨认 (audited); it stays out of the counts."""
    try:
        plate_reviews.dismiss(session, actor=principal, unread_id=unread_id, reason=reason.strip() or None)
    except Conflict as exc:
        session.rollback()
        return _page(request, principal, session, error=exc.message, error_id=unread_id, status_code=409)
    return RedirectResponse(f"{PATH}?notice={quote('已标记为无车牌/无法辨认')}", status_code=303)
