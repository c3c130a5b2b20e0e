"""Input and output shapes of the accounts domain."""

from __future__ import annotations

from enum import StrEnum


class ScopeKind(StrEnum):
    """What a scope id refers to in the registry."""

    COMMUNITY = "community"
    COMPOUND = "compound"
    GRID = "grid"
    HOUSEHOLD = "household"
    PERSON = "person"
