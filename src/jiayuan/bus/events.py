"""The base of every domain event."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from jiayuan.kernel.clock import utcnow


class DomainEvent(BaseModel):
    """Something that happened, named in the past tense; `community_id` scopes who may see it."""

    model_config = ConfigDict(frozen=True)

    name: ClassVar[str] = "event"
    community_id: int | None = None
    occurred_at: datetime = Field(default_factory=utcnow)

    def to_message(self) -> dict[str, object]:
        """The JSON-ready form sent to subscribers and browsers."""
        return {"event": self.name, **self.model_dump(mode="json")}
