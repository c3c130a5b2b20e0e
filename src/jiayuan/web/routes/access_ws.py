"""Live gate stream over WebSocket: flow, pass decisions, vehicles, alarms — each client sees its scope."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from jiayuan.access import policies
from jiayuan.accounts import service as accounts
from jiayuan.bus.events import DomainEvent
from jiayuan.bus.hub import hub
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.errors import JiayuanError
from jiayuan.kernel.principal import Principal
from jiayuan.web.auth import SESSION_COOKIE
from jiayuan.web.context import AppContext

router = APIRouter(tags=["access"])

STREAM_EVENTS = frozenset(
    {
        "access.flow",
        "access.pass_checked",
        "access.vehicle_seen",
        "access.alarm_raised",
        "access.alarm_cleared",
        "device.state",
    }
)


def _principal(context: AppContext, token: str | None, cookie: str | None) -> Principal | None:
    with unit_of_work(context.sessions) as session:
        try:
            if token:
                return accounts.principal_for_token(session, token)
            found = accounts.principal_for_session(session, cookie or "")
        except JiayuanError:
            return None
        return found[0] if found else None


def stream_filter(principal: Principal, gate_id: int | None) -> policies.EventFilter:
    """What this client may see of the committed events."""

    def may_see(event: DomainEvent) -> bool:
        if event.name not in STREAM_EVENTS:
            return False
        if gate_id is not None and getattr(event, "gate_id", None) != gate_id:
            return False
        return policies.sees(
            principal, community_id=event.community_id, compound_id=getattr(event, "compound_id", None)
        )

    return may_see


@router.websocket("/ws/v1/access")
async def access_stream(websocket: WebSocket, gate_id: int | None = None, token: str | None = None) -> None:
    """Send each permitted access event as JSON; authenticate with `?token=` or the session cookie."""
    context: AppContext = websocket.app.state.context
    principal = await run_in_threadpool(_principal, context, token, websocket.cookies.get(SESSION_COOKIE))
    if principal is None:
        await websocket.close(code=4401, reason="unauthorized")
        return
    try:
        policies.require_can_view_gates(principal)
    except JiayuanError:
        await websocket.close(code=4403, reason="forbidden")
        return
    await websocket.accept()
    subscription = hub.subscribe(stream_filter(principal, gate_id))
    receiver = asyncio.create_task(_drain(websocket))
    try:
        while not receiver.done():
            getter = asyncio.create_task(subscription.queue.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await websocket.send_json(getter.result())
                while not subscription.queue.empty():  # the rest of a batch, without a task each
                    await websocket.send_json(subscription.queue.get_nowait())
            else:
                getter.cancel()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.unsubscribe(subscription)
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
            await receiver


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a disconnect is noticed."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()
