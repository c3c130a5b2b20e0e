"""The office big screen (大屏) at /screen: the community at a glance on a TV, kept live.

It signs in once (a read-only `screen` account, or any office account) and runs for days: the page
renders `screen.screen_state`, applies the live stream, and reloads the state after every reconnect
and every few minutes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, WebSocket
from starlette.responses import Response

from jiayuan.access.schemas import ALARM_LABELS
from jiayuan.bus.hub import Filter, Message
from jiayuan.cases import policies as case_policies
from jiayuan.kernel.principal import Principal
from jiayuan.web import i18n
from jiayuan.web.auth import CurrentPrincipal, PagePrincipal
from jiayuan.web.deps import SessionDep
from jiayuan.web.routes.access_ws import STREAM_EVENTS, stream_filter
from jiayuan.web.screen import ScreenState, may_watch_screen, screen_state
from jiayuan.web.streams import open_stream, serve_events
from jiayuan.web.templating import render

router = APIRouter(tags=["screen"])

SCREEN_EVENTS = STREAM_EVENTS | {"cases.changed"}


@router.get("/screen", include_in_schema=False)
def screen_page(request: Request, principal: PagePrincipal, session: SessionDep) -> Response:
    """The big screen: site plan, gates, the last 24 hours, alarms, cases and camera tiles."""
    state = screen_state(session, actor=principal)
    # The stream names an alarm by its type; the page looks its label up here, in the page's language.
    labels = {kind: i18n.translate(label) for kind, label in ALARM_LABELS.items()}
    return render(
        request,
        "screen/index.html",
        {"state": state, "state_json": state.model_dump(mode="json"), "alarm_labels": labels},
    )


@router.get("/api/v1/screen/state", response_model=ScreenState)
def state(principal: CurrentPrincipal, session: SessionDep) -> ScreenState:
    """What the big screen shows now (the page reloads it after a reconnect)."""
    return screen_state(session, actor=principal)


def screen_filter(principal: Principal) -> Filter:
    """Gate events as the access stream filters them; case changes of the principal's communities."""
    gates = stream_filter(principal, None)

    def may_see(message: Message) -> bool:
        if message.get("event") == "cases.changed":
            community = message.get("community_id")
            return isinstance(community, int) and case_policies.reaches_community(principal, community)
        return gates(message)

    return may_see


@router.websocket("/ws/v1/screen")
async def screen_stream(websocket: WebSocket, token: str | None = None) -> None:
    """The big screen's live stream: the access stream's events plus `cases.changed`, as JSON."""
    opened = await open_stream(websocket, query_token=token, may_open=may_watch_screen)
    if opened is None:
        return
    credential, principal = opened
    await serve_events(
        websocket,
        credential=credential,
        principal=principal,
        events=SCREEN_EVENTS,
        may_see=screen_filter(principal),
    )
