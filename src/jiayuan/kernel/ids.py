"""Identifiers: integers for rows, ULIDs for events."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le
from ulid import ULID


def new_event_id() -> str:
    """A sortable unique id for an event (ULID, 26 characters)."""
    return str(ULID())


# Row ids are 32-bit INTEGER columns on both backends: anything larger is invalid input, not a lookup.
MAX_ROW_ID = 2**31 - 1

# A row id as input (path, query or body field): an absurd value is a 422 naming the field, never a
# database overflow, and the bounds show in the OpenAPI schema.
RowIdInt = Annotated[int, Ge(1), Le(MAX_ROW_ID)]
