"""Refuse a request body over the configured size before anything parses it (ASGI middleware).

The declared Content-Length is checked first; a chunked body (no length) is counted as it is read,
and the moment it passes the limit the client gets the 413 and the app sees a disconnect.
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The Excel import takes a workbook up to 20 MiB, a case a photo up to 10 MiB; every other body is JSON
# or a small form.
UPLOAD_PATHS = frozenset(
    {"/api/v1/residents/import", "/console/residents/import", "/api/v1/cases/attachments"}
)
# A case's action on the console comes with its photos.
_UPLOAD_PATTERN = re.compile(r"/console/cases/[0-9]+/actions")


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB" if size >= 1024 * 1024 else f"{size // 1024} KiB"


class BodyLimit:
    """413 for a body larger than `default` bytes (`upload` bytes on the upload routes)."""

    def __init__(self, app: ASGIApp, *, default: int, upload: int) -> None:
        self.app = app
        self.default = default
        self.upload = upload

    def limit_for(self, path: str) -> int:
        """The largest body this path accepts."""
        return self.upload if path in UPLOAD_PATHS or _UPLOAD_PATTERN.fullmatch(path) else self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            return
        received = 0
        refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await _too_large(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:  # once the 413 is out, whatever the app answers goes nowhere
                await send(message)

        await self.app(scope, counted_receive, guarded_send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {"detail": f"请求内容过大：超过 {_mib(limit)} 的上限，请缩小后重试", "field": "body"},
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
