"""Events of the registry; they carry ids only, never personal data."""

from __future__ import annotations

from typing import ClassVar

from jiayuan.bus.events import DomainEvent


class ResidentAdded(DomainEvent):
    """A resident was registered in a household."""

    name: ClassVar[str] = "registry.resident_added"
    resident_id: int
    household_id: int


class ResidentUpdated(DomainEvent):
    """A resident's record changed; `fields` names what changed (not the values)."""

    name: ClassVar[str] = "registry.resident_updated"
    resident_id: int
    household_id: int
    fields: tuple[str, ...]


class ResidentsImported(DomainEvent):
    """An Excel import added and changed residents of a community (one event per community, not per row)."""

    name: ClassVar[str] = "registry.residents_imported"
    created: int
    updated: int
