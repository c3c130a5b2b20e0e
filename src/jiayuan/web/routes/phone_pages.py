"""The grid worker's phone (/m): my cases, pushed alarms, my grid's residents, duty and patrol rounds.

An installable web app: the manifest and the service worker are served under /m so the worker's scope
is the phone face alone. The page works from the JSON below and the same services as the console.
"""

from __future__ import annotations

from pathlib import Path

import orjson
from fastapi import APIRouter, Request, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from jiayuan.bus.hub import Filter, Message
from jiayuan.cases.service import reads
from jiayuan.db.uow import unit_of_work
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.web import i18n
from jiayuan.web.auth import CurrentPrincipal, PagePrincipal
from jiayuan.web.context import AppContext
from jiayuan.web.deps import ContextDep, RowId, SessionDep
from jiayuan.web.i18n import N_
from jiayuan.web.phone import (
    PhoneActionIn,
    PhoneActionOut,
    PhoneCase,
    PhoneState,
    case_for_phone,
    may_use_phone,
    phone_state,
    push_for,
    require_phone,
    stream_communities,
    take,
)
from jiayuan.web.streams import open_stream, serve_events
from jiayuan.web.templating import render

router = APIRouter(tags=["phone"])

_WORKER = Path(__file__).resolve().parent.parent / "static" / "js" / "phone-sw.js"
MANIFEST = {
    "name": N_("平安家园 · 网格员"),
    "short_name": N_("网格员"),
    "description": N_("网格员手机：我的事件、告警推送、网格居民、值班与巡查"),
    "lang": "zh-CN",
    "start_url": "/m",
    "scope": "/m",
    "display": "standalone",
    "background_color": "#f4f6f8",
    "theme_color": "#b71c1c",
    "icons": [
        {"src": "/static/phone/icon-192.png", "sizes": "192x192", "type": "image/png"},
        {"src": "/static/phone/icon-512.png", "sizes": "512x512", "type": "image/png"},
        {"src": "/static/phone/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
    ],
}
_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"description": "未登录"},
    403: {"description": "该角色没有手机页，或无权执行此操作"},
    404: {"description": "事件不存在或不在权限范围内"},
    409: {"description": "当前状态不允许此操作"},
    422: {"description": "输入有误（指出字段）"},
}


@router.get("/m", include_in_schema=False)
def phone_page(request: Request, principal: PagePrincipal, session: SessionDep) -> Response:
    """The phone face: the page renders this state and keeps it live over /ws/v1/m."""
    state = phone_state(session, actor=principal)
    return render(request, "phone/index.html", {"state": state, "state_json": state.model_dump(mode="json")})


@router.get("/m/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """The service worker, served from /m so that its scope is the phone face (never cached stale)."""
    return Response(
        _WORKER.read_bytes(),
        media_type="text/javascript",
        headers={"cache-control": "no-cache", "service-worker-allowed": "/m"},
    )


@router.get("/m/manifest.webmanifest", include_in_schema=False)
def manifest() -> Response:
    """The web app manifest that makes the phone face installable, in the language of the page."""
    words = {key: i18n.translate(str(MANIFEST[key])) for key in ("name", "short_name", "description")}
    return Response(
        orjson.dumps(MANIFEST | words | {"lang": i18n.current.get()}), media_type="application/manifest+json"
    )


@router.get("/api/v1/m/state", response_model=PhoneState, responses=_ERRORS)
def state(principal: CurrentPrincipal, session: SessionDep) -> PhoneState:
    """What the phone shows now: my cases, my shifts today, my patrol slots."""
    return phone_state(session, actor=principal)


@router.get("/api/v1/m/cases/{case_id}", response_model=PhoneCase, responses=_ERRORS)
def phone_case(case_id: RowId, principal: CurrentPrincipal, session: SessionDep) -> PhoneCase:
    """One case as the phone shows it (within reach only)."""
    return case_for_phone(session, actor=principal, case_id=case_id)


@router.get(
    "/api/v1/m/cases/{case_id}/snapshot.jpg",
    response_class=Response,
    responses=_ERRORS | {200: {"content": {"image/jpeg": {}}, "description": "告警抓拍图"}},
)
def case_snapshot(
    case_id: RowId, principal: CurrentPrincipal, session: SessionDep, context: ContextDep
) -> Response:
    """The snapshot a gate or camera case carries, for whoever sees the case (a grid worker included)."""
    require_phone(principal)
    jpeg = reads.evidence_snapshot(
        session, actor=principal, files=SnapshotFiles(context.settings.var_dir), case_id=case_id
    )
    # Evidence never changes under its case: the phone may keep it (offline too), proxies not.
    return Response(jpeg, media_type="image/jpeg", headers={"cache-control": "private, max-age=86400"})


@router.post("/api/v1/m/cases/{case_id}/actions", response_model=PhoneActionOut, responses=_ERRORS)
def act(
    case_id: RowId, data: PhoneActionIn, principal: CurrentPrincipal, session: SessionDep
) -> PhoneActionOut:
    """受理 (take the case on), 到场 or 处置 (with a note); a resend of a step already taken is a no-op."""
    return take(session, actor=principal, case_id=case_id, data=data)


def phone_filter(communities: frozenset[int]) -> Filter:
    """Case changes in the communities the phone's account works in (its own, and its grids'); each is
    then read through the cases service, which answers only within the account's reach."""

    def may_see(message: Message) -> bool:
        return message.get("event") == "cases.changed" and message.get("community_id") in communities

    return may_see


@router.websocket("/ws/v1/m")
async def phone_stream(websocket: WebSocket, token: str | None = None) -> None:
    """The phone's live stream: each change of a case within reach, with `alert` when it was just
    handed to this worker (the page rings and shows a banner)."""
    opened = await open_stream(websocket, query_token=token, may_open=may_use_phone)
    if opened is None:
        return
    credential, principal = opened
    context: AppContext = websocket.app.state.context

    def home() -> frozenset[int]:
        with unit_of_work(context.sessions) as session:
            return stream_communities(session, actor=principal)

    communities = await run_in_threadpool(home)

    def read(message: Message) -> Message | None:
        with unit_of_work(context.sessions) as session:
            push = push_for(
                session, actor=principal, case_id=int(message["case_id"]), action=message.get("action")
            )
        return None if push is None else push.model_dump(mode="json")

    async def shape(message: Message) -> Message | None:
        return await run_in_threadpool(read, message)

    await serve_events(
        websocket,
        credential=credential,
        principal=principal,
        events=frozenset({"cases.changed"}),
        may_see=phone_filter(communities),
        shape=shape,
    )
