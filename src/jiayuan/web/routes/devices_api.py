"""JSON API of the device pipeline: HTTP push for devices, dead letters and device status for staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from jiayuan.access.pass_tokens import signer_for
from jiayuan.cases.service import intake
from jiayuan.devices.protocol import DeviceId, SnapshotId
from jiayuan.devices.schemas import (
    DEAD_LETTER_REASONS,
    DeadLetterCountOut,
    DeadLetterOut,
    DeviceDisable,
    DeviceEnable,
    DeviceStatusOut,
    DeviceSwitchOut,
    PushResult,
)
from jiayuan.devices.service import inspection, lifecycle, pipeline, snapshots
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.from_settings import device_pipeline
from jiayuan.kernel.ids import RowIdInt
from jiayuan.web.auth import CurrentPrincipal
from jiayuan.web.deps import ContextDep, SessionDep

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])

# Bodies are read up to this many bytes; beyond it only the size is counted (the event is too large anyway).
_READ_CAP = 64 * 1024


class RawBody:
    """The request body as bytes, bounded in memory, with its true size."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data = data
        self.size = size


async def raw_body(request: Request) -> RawBody:
    """Read the body without parsing it: malformed JSON must reach the dead letters, not a 422."""
    kept = bytearray()
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if len(kept) < _READ_CAP:
            kept.extend(chunk[: _READ_CAP - len(kept)])
    return RawBody(bytes(kept), size)


@router.post(
    "/{device_id}/events",
    response_model=PushResult,
    status_code=202,
    responses={
        200: {"model": PushResult, "description": "已收到过（重复）duplicate"},
        401: {"description": "令牌缺失或无效"},
        403: {"description": "令牌属于其他设备"},
        422: {"model": PushResult, "description": "已放入死信 dead letter"},
    },
)
def push_event(
    device_id: Annotated[DeviceId, Path()],
    body: Annotated[RawBody, Depends(raw_body)],
    principal: CurrentPrincipal,
    session: SessionDep,
    context: ContextDep,
) -> JSONResponse:
    """A device posts one event envelope (DESIGN.md §3) with its own bearer token."""
    outcome = pipeline.accept_http(
        session,
        actor=principal,
        device_id=device_id,
        body=body.data,
        size=body.size,
        pipeline=device_pipeline(context.settings),
    )
    signer = signer_for(context.settings.pass_signing_key.get_secret_value(), context.settings.pass_key_id)
    intake.dispatch(session, outcome, public_keys=signer.public_keys())
    if outcome.accepted:
        return JSONResponse(PushResult(result="accepted").model_dump(), status_code=202)
    if outcome.duplicates:
        return JSONResponse(PushResult(result="duplicate").model_dump(), status_code=200)
    rejection = outcome.rejections[0]
    result = PushResult(result="dead_letter", reason=rejection.reason, detail=rejection.detail)
    return JSONResponse(result.model_dump(), status_code=422)


@router.get("/dead-letters", response_model=list[DeadLetterOut])
def dead_letters(
    principal: CurrentPrincipal,
    session: SessionDep,
    device_id: Annotated[str | None, Query(max_length=64)] = None,
    reason: Annotated[str | None, Query(pattern="^(" + "|".join(DEAD_LETTER_REASONS) + ")$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[RowIdInt | None, Query()] = None,
) -> list[DeadLetterOut]:
    """The newest refused messages with their reason and the first bytes as received."""
    return inspection.list_dead_letters(
        session, actor=principal, device_id=device_id, reason=reason, limit=limit, before_id=before_id
    )


@router.get("/dead-letters/counts", response_model=list[DeadLetterCountOut])
def dead_letter_counts(principal: CurrentPrincipal, session: SessionDep) -> list[DeadLetterCountOut]:
    """Refused messages counted per device and reason."""
    return inspection.dead_letter_counts(session, actor=principal)


@router.get("/status", response_model=list[DeviceStatusOut])
def device_status(principal: CurrentPrincipal, session: SessionDep) -> list[DeviceStatusOut]:
    """Every visible device: online/offline, last heard, counters."""
    return inspection.list_status(session, actor=principal)


@router.get(
    "/{device_id}/snapshots/{snapshot_id}.jpg",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "抓拍图片 JPEG"},
        403: {"description": "该角色不能查看门岗画面"},
        404: {"description": "没有这张图片，或它不在您的负责范围内，或已过保存期"},
    },
)
def device_snapshot(
    device_id: Annotated[DeviceId, Path()],
    snapshot_id: Annotated[SnapshotId, Path()],
    principal: CurrentPrincipal,
    session: SessionDep,
    context: ContextDep,
) -> Response:
    """An evidence snapshot a device sent (the `snapshot` of a plate read, count or alarm), for users
    whose scope covers the gate where it was taken (the same rule as the live camera pictures)."""
    jpeg = snapshots.snapshot_image(
        session,
        actor=principal,
        files=SnapshotFiles(context.settings.var_dir),
        device_id=device_id,
        snapshot_id=snapshot_id,
    )
    # Evidence never changes under its id, but it is someone's gate: browsers may keep it, proxies not.
    headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return Response(jpeg, media_type="image/jpeg", headers=headers)


@router.post("/{device_id}/disable", response_model=DeviceSwitchOut)
def disable_device(
    device_id: Annotated[DeviceId, Path()],
    body: DeviceDisable,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> DeviceSwitchOut:
    """Disable a device (and by default revoke its tokens); the broker disconnects and refuses it."""
    switched = lifecycle.disable_device(
        session, actor=principal, device_id=device_id, reason=body.reason, revoke_tokens=body.revoke_tokens
    )
    return DeviceSwitchOut(device_id=device_id, enabled=False, tokens_revoked=switched.tokens_revoked)


@router.post("/{device_id}/enable", response_model=DeviceSwitchOut)
def enable_device(
    device_id: Annotated[DeviceId, Path()],
    body: DeviceEnable,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> DeviceSwitchOut:
    """Enable a device again (issue a new token if its tokens were revoked)."""
    lifecycle.enable_device(session, actor=principal, device_id=device_id, reason=body.reason)
    return DeviceSwitchOut(device_id=device_id, enabled=True, tokens_revoked=0)
