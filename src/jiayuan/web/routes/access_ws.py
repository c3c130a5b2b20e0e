"""Live gate stream over WebSocket: flow, pass decisions, vehicles, alarms — each client sees its scope."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from jiayuan.access import policies
from jiayuan.access.service import reports
from jiayuan.bus.hub import Filter, Message, hub
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.errors import JiayuanError
from jiayuan.kernel.ids import MAX_ROW_ID
from jiayuan.kernel.principal import Principal
from jiayuan.web.context import AppContext
from jiayuan.web.streams import credential_of, origin_allowed, principal_now, until_signed_out

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


def _compound_gates(context: AppContext, principal: Principal, compound_id: int) -> frozenset[int]:
    """The ids of a compound's gates that the principal may see (none when out of scope)."""
    with unit_of_work(context.sessions) as session:
        gates = reports.list_gates(session, actor=principal)
    return frozenset(g.id for g in gates if g.compound_id == compound_id)


def stream_filter(
    principal: Principal,
    gate_id: int | None,
    compound_id: int | None = None,
    compound_gates: frozenset[int] = frozenset(),
) -> Filter:
    """What this client may see of the stream's events (of one gate or one compound when asked).

    The hub offers a subscription only the event names it asked for (`STREAM_EVENTS` here).
    """

    def may_see(message: Message) -> bool:
        event_gate = message.get("gate_id")
        if gate_id is not None and event_gate != gate_id:
            return False
        # Stream messages carry their compound; one carrying only a gate counts by its gate.
        if compound_id is not None and not (
            event_gate in compound_gates or message.get("compound_id") == compound_id
        ):
            return False
        return policies.sees(
            principal, community_id=message.get("community_id"), compound_id=message.get("compound_id")
        )

    return may_see


@router.websocket("/ws/v1/access")
async def access_stream(
    websocket: WebSocket,
    gate_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    compound_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    token: str | None = None,
) -> None:
    """Send each permitted access event as JSON; authenticate with a bearer token (`Authorization`
    header or `?token=`) or the session cookie.

    `gate_id` or `compound_id` narrows the stream to one gate or one compound's gates. A browser must
    open it from this site (4403 otherwise); it closes with 4401 once the sign-in stops being valid.
    """
    context: AppContext = websocket.app.state.context
    if not origin_allowed(websocket, context.settings.public_origin):
        await _refuse(websocket, 4403, "origin not allowed")
        return
    credential = credential_of(websocket, query_token=token)
    principal = await run_in_threadpool(principal_now, context, credential)
    if principal is None:
        await _refuse(websocket, 4401, "unauthorized")
        return
    try:
        policies.require_can_view_gates(principal)
    except JiayuanError:
        await _refuse(websocket, 4403, "forbidden")
        return
    compound_gates: frozenset[int] = frozenset()
    if compound_id is not None:
        compound_gates = await run_in_threadpool(_compound_gates, context, principal, compound_id)
        if not compound_gates:
            await _refuse(websocket, 4404, "compound not found")
            return
    await websocket.accept()
    may_see = stream_filter(principal, gate_id, compound_id, compound_gates)
    subscription = hub.subscribe(STREAM_EVENTS, may_see)
    receiver = asyncio.create_task(_drain(websocket))
    signed_out = asyncio.create_task(until_signed_out(context, credential, principal))
    try:
        while not receiver.done() and not signed_out.done():
            getter = asyncio.create_task(subscription.queue.get())
            done, _ = await asyncio.wait({getter, receiver, signed_out}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await websocket.send_json(getter.result())
                while not subscription.queue.empty():  # the rest of a batch, without a task each
                    await websocket.send_json(subscription.queue.get_nowait())
            else:
                getter.cancel()
        if signed_out.done():
            await websocket.close(code=4401, reason="signed out")
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.unsubscribe(subscription)
        for task in (receiver, signed_out):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await task


async def _refuse(websocket: WebSocket, code: int, reason: str) -> None:
    """Accept, then close with the code: a handshake refused outright reaches a browser only as a
    failed connection, with no reason it could act on."""
    await websocket.accept()
    await websocket.close(code=code, reason=reason)


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a disconnect is noticed."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()
