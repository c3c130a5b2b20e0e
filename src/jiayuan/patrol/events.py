"""Events of the patrol domain: ids and counts only."""

from __future__ import annotations

from typing import ClassVar

from jiayuan.bus.events import DomainEvent


class RoundFinished(DomainEvent):
    """A patrol round was finished (the screen and the statistics follow it)."""

    name: ClassVar[str] = "patrol.round_finished"
    plan_id: int
    round_id: int
    findings: int
