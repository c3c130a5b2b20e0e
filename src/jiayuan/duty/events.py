"""Events of the duty domain; ids only."""

from __future__ import annotations

from typing import ClassVar

from jiayuan.bus.events import DomainEvent


class RosterChanged(DomainEvent):
    """A community's roster changed (`action`: shift.add, shift.swap, template.apply, …), so screens
    showing who is on duty refresh."""

    name: ClassVar[str] = "duty.changed"
    action: str
    shift_ids: list[int]
