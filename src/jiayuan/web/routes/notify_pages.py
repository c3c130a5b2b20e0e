"""Console page 消息: the outbox of the viewer's communities, newest first (the console channel's messages
are read here when no provider is configured)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from jiayuan.kernel.paging import MAX_PAGE, PageParams
from jiayuan.notify import service
from jiayuan.notify.states import ChannelName, MessageState
from jiayuan.web import i18n
from jiayuan.web.auth import PagePrincipal
from jiayuan.web.deps import SessionDep
from jiayuan.web.templating import render

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)


@router.get("/messages")
def messages_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    channel: Annotated[ChannelName | None, Query()] = None,
    state: Annotated[MessageState | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    """The messages within reach, optionally of one channel or in one state."""
    results = service.list_messages(
        session, actor=principal, channel=channel, state=state, params=PageParams(page=page, size=50)
    )
    results.items = [m.in_language(i18n.text) for m in results.items]
    pages = (results.total + results.size - 1) // results.size
    query = {k: v.value for k, v in (("channel", channel), ("state", state)) if v is not None}
    values = {
        "results": results,
        "pages": pages,
        "query": query,
        "channels": list(ChannelName),
        "states": list(MessageState),
        "channel": channel,
        "state": state,
    }
    return render(request, "notify/messages.html", values)
