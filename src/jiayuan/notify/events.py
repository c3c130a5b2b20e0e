"""Events of the notify domain."""

from __future__ import annotations

from typing import ClassVar

from jiayuan.bus.events import DomainEvent


class MessageSettled(DomainEvent):
    """A message was delivered (`state` sent) or given up on (`state` failed)."""

    name: ClassVar[str] = "notify.settled"
    message_id: int
    channel: str
    state: str
