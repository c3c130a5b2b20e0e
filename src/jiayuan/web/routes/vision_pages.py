"""Live view of the gate cameras: a page of streams, an MJPEG stream and a snapshot per camera.

The camera workers publish annotated frames over MQTT; this app relays them to signed-in users
whose scope covers the camera's gate (same roles as the rest of the gate data).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from jiayuan.devices.service import snapshots
from jiayuan.devices.service.cameras import camera_for, degraded_cameras, visible_cameras
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.clock import local
from jiayuan.kernel.errors import NotFound
from jiayuan.kernel.principal import Principal
from jiayuan.vision.relay import LiveRelay
from jiayuan.web import i18n
from jiayuan.web.auth import CurrentPrincipal, PagePrincipal
from jiayuan.web.context import AppContext
from jiayuan.web.deps import ContextDep, SessionDep
from jiayuan.web.streams import Credential, credential_of, still_signed_in
from jiayuan.web.templating import render

router = APIRouter(tags=["cameras"])
BOUNDARY = "jiayuanframe"
NO_FRAME_TIMEOUT = 30.0


def live_relay(request: Request, context: ContextDep) -> LiveRelay | None:
    """The app's relay of live camera frames (started on first use; None without a broker)."""
    relay: LiveRelay | None = getattr(request.app.state, "live_relay", None)
    if relay is None and context.settings.mqtt_url:
        relay = LiveRelay(context.settings.mqtt_url, prefix=context.settings.mqtt_topic_prefix)
        request.app.state.live_relay = relay
    return relay


def _unavailable() -> NotFound:
    # Not a server fault: this installation simply has no broker to take live frames from.
    return NotFound("没有实时画面：平台未配置 MQTT（JIAYUAN_MQTT_URL）", field="device_id")


@router.get("/console/cameras", include_in_schema=False)
def cameras_page(request: Request, principal: PagePrincipal, session: SessionDep) -> Response:
    """Every camera the user may watch, live."""
    cameras = visible_cameras(session, actor=principal)
    degraded = degraded_cameras(session, actor=principal, cameras=cameras)
    return render(request, "vision/cameras.html", {"cameras": cameras, "degraded": degraded})


@router.get("/api/v1/cameras/health")
def cameras_health(principal: CurrentPrincipal, session: SessionDep) -> dict[str, list[dict[str, str]]]:
    """The cameras in the user's scope whose worker runs degraded, with its reasons (`label` in the page's
    language, `text` as the worker gave it); the camera page polls it to keep its badges current."""
    cameras = visible_cameras(session, actor=principal)
    return {
        device_id: [{"code": r.code, "label": i18n.translate(r.label), "text": r.text} for r in reasons]
        for device_id, reasons in degraded_cameras(session, actor=principal, cameras=cameras).items()
    }


@router.get("/console/cameras/{device_id}", include_in_schema=False)
def camera_page(
    device_id: str, request: Request, principal: PagePrincipal, session: SessionDep, context: ContextDep
) -> Response:
    """One camera's live stream, large (the big screen, a phone)."""
    camera = camera_for(session, actor=principal, device_id=device_id)
    # The page opens a new stream shortly before the server ends one (JIAYUAN_MJPEG_MAX_S).
    renew_s = max(1, int(context.settings.mjpeg_max_s) - 5)
    return render(request, "vision/camera.html", {"camera": camera, "renew_s": renew_s})


@router.get("/api/v1/cameras/{device_id}/snapshot.jpg", response_class=Response)
def snapshot(
    device_id: str, request: Request, principal: CurrentPrincipal, session: SessionDep, context: ContextDep
) -> Response:
    """The camera's newest annotated frame as JPEG; without one (a plate camera sends no live frames,
    or the analysis is not running) its newest stored evidence picture, dated in `X-Picture-Taken-At`."""
    camera_for(session, actor=principal, device_id=device_id)
    relay = live_relay(request, context)
    frame = relay.latest(device_id) if relay is not None else None
    if frame is not None:
        return Response(frame.jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
    files = SnapshotFiles(context.settings.var_dir)
    stored = snapshots.newest_image(session, actor=principal, files=files, device_id=device_id)
    if stored is not None:
        taken = local(stored[1]).strftime("%Y-%m-%d %H:%M:%S")
        headers = {"Cache-Control": "no-store", "X-Picture-Taken-At": taken}
        return Response(stored[0], media_type="image/jpeg", headers=headers)
    if relay is None:
        raise _unavailable()
    raise NotFound("该摄像机暂无实时画面，也还没有抓拍图片（分析程序未运行或未连上 MQTT）", field="device_id")


@dataclass(frozen=True)
class _Viewer:
    """Who watches a stream, so it can end when they are signed out (see `web.streams`)."""

    context: AppContext
    credential: Credential
    principal: Principal


async def _mjpeg(
    relay: LiveRelay, device_id: str, limit: int | None, viewer: _Viewer
) -> AsyncIterator[bytes]:
    settings = viewer.context.settings
    last, sent, waiting_since = 0, 0, time.monotonic()
    # A response lasts at most `mjpeg_max_s` (the page opens a new one), re-checking the sign-in meanwhile.
    ends_at = waiting_since + settings.mjpeg_max_s
    recheck_at = waiting_since + settings.stream_recheck_s
    while limit is None or sent < limit:
        now = time.monotonic()
        if now >= ends_at:
            return
        if now >= recheck_at:
            if not await still_signed_in(viewer.context, viewer.credential, viewer.principal):
                return
            recheck_at = now + settings.stream_recheck_s
        frame = relay.latest(device_id)
        if frame is None or frame.seq == last:
            if now - waiting_since > NO_FRAME_TIMEOUT:
                return  # the worker went away; the browser reconnects when it likes
            await asyncio.sleep(0.05)
            continue
        last, sent, waiting_since = frame.seq, sent + 1, now
        head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(frame.jpeg)}\r\n\r\n"
        yield head.encode() + frame.jpeg + b"\r\n"


@router.get("/api/v1/cameras/{device_id}/live.mjpeg", response_class=Response)
def live(
    device_id: str,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    context: ContextDep,
    frames: Annotated[int | None, Query(ge=1, le=100000, description="停止前发送的帧数（默认不限）")] = None,
) -> Response:
    """The camera's annotated frames as an MJPEG stream (multipart/x-mixed-replace).

    It ends after `JIAYUAN_MJPEG_MAX_S` seconds, or sooner once the viewer's sign-in stops being valid.
    """
    camera_for(session, actor=principal, device_id=device_id)
    relay = live_relay(request, context)
    if relay is None:
        raise _unavailable()
    viewer = _Viewer(context, credential_of(request), principal)
    return StreamingResponse(
        _mjpeg(relay, device_id, frames, viewer),
        media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
        headers={"Cache-Control": "no-store"},
    )
