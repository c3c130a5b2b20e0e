"""Live gate stream over WebSocket: flow, pass decisions, vehicles, alarms — each client sees its scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, WebSocket
from starlette.concurrency import run_in_threadpool

from jiayuan.access import policies
from jiayuan.access.service import reports
from jiayuan.bus.hub import Filter, Message
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.ids import MAX_ROW_ID
from jiayuan.kernel.principal import Principal
from jiayuan.web.context import AppContext
from jiayuan.web.streams import open_stream, refuse, serve_events

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
    opened = await open_stream(websocket, query_token=token, may_open=policies.may_view_gates)
    if opened is None:
        return
    credential, principal = opened
    compound_gates: frozenset[int] = frozenset()
    if compound_id is not None:
        context: AppContext = websocket.app.state.context
        compound_gates = await run_in_threadpool(_compound_gates, context, principal, compound_id)
        if not compound_gates:
            await refuse(websocket, 4404, "compound not found")
            return
    await serve_events(
        websocket,
        credential=credential,
        principal=principal,
        events=STREAM_EVENTS,
        may_see=stream_filter(principal, gate_id, compound_id, compound_gates),
    )
