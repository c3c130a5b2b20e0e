"""Console page of the device pipeline: device liveness and counters, dead letters by device and reason."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from jiayuan.devices import policies
from jiayuan.devices.schemas import DEAD_LETTER_REASONS
from jiayuan.devices.service import inspection, lifecycle
from jiayuan.kernel.errors import JiayuanError
from jiayuan.web import i18n
from jiayuan.web.auth import PagePrincipal
from jiayuan.web.deps import SessionDep
from jiayuan.web.i18n import N_
from jiayuan.web.templating import render

router = APIRouter(tags=["devices"], include_in_schema=False)

REASON_LABELS = {
    "bad_json": N_("不是合法 JSON"),
    "bad_envelope": N_("信封格式错误"),
    "unknown_device": N_("设备未登记"),
    "topic_mismatch": N_("设备与主题不符"),
    "unknown_type": N_("未知事件类型"),
    "bad_payload": N_("内容格式错误"),
    "too_large": N_("超过大小上限（事件 16 KiB，抓拍图 512 KiB）"),
    "clock": N_("设备时钟偏差过大"),
    "revoked_device": N_("设备已停用"),
    "bad_snapshot": N_("抓拍图不是完整的 JPEG 或编号不合规"),
    "id_conflict": N_("编号冲突"),
    "handler_error": N_("平台处理失败"),
}


@router.get("/console/devices")
def devices_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    reason: Annotated[str | None, Query(max_length=16)] = None,
    device_id: Annotated[str | None, Query(max_length=64)] = None,
    notice: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Devices with liveness and counters, and the newest dead letters."""
    if reason not in (None, "", *DEAD_LETTER_REASONS):
        reason = None
    statuses = inspection.list_status(session, actor=principal)
    counts = inspection.dead_letter_counts(session, actor=principal)
    letters = inspection.list_dead_letters(
        session, actor=principal, reason=reason or None, device_id=device_id or None, limit=50
    )
    return render(
        request,
        "devices/status.html",
        {
            "statuses": statuses,
            "counts": counts,
            "letters": letters,
            "labels": REASON_LABELS,
            "reason": reason or "",
            "device_id": device_id or "",
            "may_switch": policies.may_switch(principal),
            "notice": notice,
            "error": error,
        },
    )


def _back(request: Request, **message: str) -> Response:
    """Back to the device list with a message (htmx follows HX-Redirect, a plain form the 303)."""
    key, text = next(iter(message.items()))
    url = f"/console/devices?{key}={quote(text[:200])}"
    if request.headers.get("hx-request"):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@router.post("/console/devices/{device_id}/disable")
def disable_device(
    request: Request,
    device_id: str,
    principal: PagePrincipal,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The device page's 停用 button: disable the device and revoke its tokens."""
    try:
        switched = lifecycle.disable_device(session, actor=principal, device_id=device_id, reason=reason)
    except JiayuanError as exc:
        session.rollback()
        return _back(request, error=i18n.error_text(exc))
    return _back(
        request,
        notice=i18n.translate(N_("已停用 {device}，吊销令牌 {n} 个")).format(
            device=device_id, n=switched.tokens_revoked
        ),
    )


@router.post("/console/devices/{device_id}/enable")
def enable_device(
    request: Request,
    device_id: str,
    principal: PagePrincipal,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The device page's 启用 button."""
    try:
        lifecycle.enable_device(session, actor=principal, device_id=device_id, reason=reason)
    except JiayuanError as exc:
        session.rollback()
        return _back(request, error=i18n.error_text(exc))
    return _back(
        request,
        notice=i18n.translate(N_("已启用 {device}（令牌已吊销的设备需重新签发令牌）")).format(
            device=device_id
        ),
    )
