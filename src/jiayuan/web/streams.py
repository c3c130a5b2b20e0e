"""What long-lived responses (the access WebSocket, MJPEG live view) share: who is on the other end,
whether that is still true, and whether a browser opened the socket from this site.

A stream is authorised once when it opens, so each re-reads its credential every
`stream_recheck_s` seconds and ends as soon as the account is deactivated, the session ended or
the token revoked (on whichever process did it), or the account's role or scope changed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from jiayuan.accounts.service import sessions, tokens
from jiayuan.bus.hub import Filter, Message, hub
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.errors import JiayuanError
from jiayuan.kernel.principal import Principal
from jiayuan.web.auth import SESSION_COOKIE
from jiayuan.web.context import AppContext

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


@dataclass(frozen=True)
class Credential:
    """The bearer token or the session cookie a stream was opened with."""

    token: str | None
    cookie: str | None


def credential_of(connection: HTTPConnection, *, query_token: str | None = None) -> Credential:
    """The caller's credential: a bearer token (header, or `?token=` on the WebSocket), else the cookie."""
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.strip().partition(" ")
    token = value.strip() if scheme.lower() == "bearer" and value.strip() else query_token
    return Credential(token=token or None, cookie=connection.cookies.get(SESSION_COOKIE))


def principal_now(context: AppContext, credential: Credential) -> Principal | None:
    """Who the credential stands for at this moment, or None when it no longer works."""
    with unit_of_work(context.sessions) as session:
        try:
            if credential.token:
                return tokens.principal_for_token(session, credential.token)
            found = sessions.principal_for_session(session, credential.cookie or "")
        except JiayuanError:
            return None
        return found[0] if found else None


async def still_signed_in(context: AppContext, credential: Credential, principal: Principal) -> bool:
    """Whether the credential still stands for exactly this principal (same role and scope)."""
    return await run_in_threadpool(principal_now, context, credential) == principal


async def until_signed_out(context: AppContext, credential: Credential, principal: Principal) -> None:
    """Return once the credential stops standing for this principal (checked every interval)."""
    interval = context.settings.stream_recheck_s
    while True:
        await asyncio.sleep(interval)
        if not await still_signed_in(context, credential, principal):
            return


def _origin_key(url: str) -> tuple[str, int | None] | None:
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    return parts.hostname.lower(), port


def origin_allowed(connection: HTTPConnection, public_origin: str) -> bool:
    """Whether a WebSocket may be opened from where it was: browsers always send `Origin`, which must
    be this site (its configured public origin, or the host the request was sent to); a client with
    no `Origin` is not a browser, so no other site can have made it connect with a user's cookie."""
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    if public_origin and origin.rstrip("/").lower() == public_origin.rstrip("/").lower():
        return True
    # Behind a TLS proxy the request itself may be plain http: the host and port decide, with the
    # Host header's missing port read in the Origin's scheme.
    host = connection.headers.get("host", "")
    scheme = urlsplit(origin).scheme.lower()
    sent = _origin_key(origin)
    if sent is None or not host or scheme not in ("http", "https"):
        return False
    return _origin_key(f"{scheme}://{host}") == sent


async def open_stream(
    websocket: WebSocket, *, query_token: str | None, may_open: Callable[[Principal], bool]
) -> tuple[Credential, Principal] | None:
    """Check a WebSocket before it is accepted: this site's page (4403), a working credential (4401),
    a role that may watch this stream (4403). None when it was refused (and closed)."""
    context: AppContext = websocket.app.state.context
    if not origin_allowed(websocket, context.settings.public_origin):
        await refuse(websocket, 4403, "origin not allowed")
        return None
    credential = credential_of(websocket, query_token=query_token)
    principal = await run_in_threadpool(principal_now, context, credential)
    if principal is None:
        await refuse(websocket, 4401, "unauthorized")
        return None
    if not may_open(principal):
        await refuse(websocket, 4403, "forbidden")
        return None
    return credential, principal


async def serve_events(
    websocket: WebSocket,
    *,
    credential: Credential,
    principal: Principal,
    events: frozenset[str],
    may_see: Filter,
    shape: Callable[[Message], Awaitable[Message | None]] | None = None,
) -> None:
    """Accept, then send each hub message of these events that `may_see` lets through, as JSON, until
    the client goes or the sign-in stops standing (closed with 4401 then). `shape`, when given, turns a
    message into what is sent (None: nothing), e.g. by reading the record it names through a service."""
    context: AppContext = websocket.app.state.context
    await websocket.accept()
    subscription = hub.subscribe(events, may_see)
    receiver = asyncio.create_task(_drain(websocket))
    signed_out = asyncio.create_task(until_signed_out(context, credential, principal))
    try:
        while not receiver.done() and not signed_out.done():
            getter = asyncio.create_task(subscription.queue.get())
            done, _ = await asyncio.wait({getter, receiver, signed_out}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await _send(websocket, getter.result(), shape)
                while not subscription.queue.empty():  # the rest of a batch, without a task each
                    await _send(websocket, subscription.queue.get_nowait(), shape)
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


async def _send(
    websocket: WebSocket, message: Message, shape: Callable[[Message], Awaitable[Message | None]] | None
) -> None:
    sent = message if shape is None else await shape(message)
    if sent is not None:
        await websocket.send_json(sent)


async def refuse(websocket: WebSocket, code: int, reason: str) -> None:
    """Accept, then close with the code: a handshake refused outright reaches a browser only as a
    failed connection, with no reason it could act on."""
    await websocket.accept()
    await websocket.close(code=code, reason=reason)


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a disconnect is noticed."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()
