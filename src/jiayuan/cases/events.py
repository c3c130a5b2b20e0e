"""Events of the cases domain; ids and states only, never who reported."""

from __future__ import annotations

from typing import ClassVar

from jiayuan.bus.events import DomainEvent


class CaseChanged(DomainEvent):
    """A case was raised (`action` None) or an action was taken on it."""

    name: ClassVar[str] = "cases.changed"
    case_id: int
    state: str
    action: str | None
    level: int
