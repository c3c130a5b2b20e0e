"""Console page 闸口通行: today's flow at a gate or compound, kept live by the access stream."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from jiayuan.access.schemas import (
    ALARM_LABELS,
    CATEGORY_LABELS,
    DEVICE_STATE_LABELS,
    PASS_KIND_LABELS,
    REASON_LABELS,
)
from jiayuan.access.service import plate_reviews, reports
from jiayuan.kernel.ids import MAX_ROW_ID
from jiayuan.web import i18n
from jiayuan.web.auth import PagePrincipal
from jiayuan.web.deps import SessionDep
from jiayuan.web.templating import render

router = APIRouter(tags=["access"], include_in_schema=False)

OptionalRowId = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]
LABELS = {
    "category": CATEGORY_LABELS,
    "reason": REASON_LABELS,
    "pass_kind": PASS_KIND_LABELS,
    "alarm": ALARM_LABELS,
    "device_state": DEVICE_STATE_LABELS,
}


@router.get("/console/flow")
def flow_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    compound_id: OptionalRowId = None,
    gate_id: OptionalRowId = None,
) -> Response:
    """A gate's or compound's day: chart, headline numbers, vehicles inside, live passages and alarms."""
    gates = reports.list_gates(session, actor=principal)
    # With nothing in scope the page says so, unless a gate or compound was asked for (404 then).
    asked = compound_id is not None or gate_id is not None
    today = (
        reports.flow_today(session, actor=principal, compound_id=compound_id, gate_id=gate_id)
        if gates or asked
        else None
    )
    compounds = {g.compound_id: g.compound_name for g in gates}
    return render(
        request,
        "access/flow.html",
        {
            "gates": gates,
            "compounds": compounds,
            "today": today,
            "today_json": today.model_dump(mode="json") if today else None,
            "labels": {
                kind: {code: i18n.translate(text) for code, text in texts.items()}
                for kind, texts in LABELS.items()
            },
            "unread_plates": plate_reviews.count_waiting(session, actor=principal),
        },
    )
