"""Identifiers: integers for rows, ULIDs for events."""

from __future__ import annotations

from ulid import ULID


def new_event_id() -> str:
    """A sortable unique id for an event (ULID, 26 characters)."""
    return str(ULID())


# Row ids are 32-bit INTEGER columns on both backends: anything larger is invalid input, not a lookup.
MAX_ROW_ID = 2**31 - 1
