"""Request dependencies: the app context and a unit of work per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.ids import MAX_ROW_ID
from jiayuan.web.context import AppContext


def get_context(request: Request) -> AppContext:
    """The application's long-lived objects."""
    context: AppContext = request.app.state.context
    return context


def get_session(context: Annotated[AppContext, Depends(get_context)]) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back if it raises."""
    with unit_of_work(context.sessions) as session:
        yield session


ContextDep = Annotated[AppContext, Depends(get_context)]
# scope="function": commit (or roll back) as soon as the route returns, before the response is sent,
# so a client never sees a success whose commit then fails, and streams hold no transaction open.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

# Row ids in paths: positive and within a 32-bit INTEGER, so an absurd id is a 422, never a database error.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="编号")]
