"""Database errors told apart and summed up in one line, without the statement or its parameters."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError


def is_outage(exc: BaseException) -> bool:
    """True when the database is unreachable or busy right now (wait and retry), not refusing the data."""
    if isinstance(exc, OperationalError | DisconnectionError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def short_message(exc: BaseException) -> str:
    """The error's class and the database's own one-line message.

    `str()` of SQLAlchemy's wrapper carries the SQL and its bound parameters (device payloads, personal
    data); the driver's primary message does not, and PostgreSQL's DETAIL lines (key values) are left out.
    """
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    diag = getattr(original, "diag", None)
    text = getattr(diag, "message_primary", None) or str(original)
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    return f"{type(original).__name__}: {first_line}"[:300]


def where(url: str) -> str:
    """Which database a URL names, for logs: host, port and name, never the password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite {parsed.database or ':memory:'}"
    host = parsed.host or "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.get_backend_name()} {host}{port}/{parsed.database or ''}"
