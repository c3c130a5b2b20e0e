"""Tables of the access domain: alarms raised at the gates (passes, vehicles and flow join later)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.db.base import Base
from jiayuan.kernel.clock import utcnow


class Alarm(Base):
    """A rule fired at a gate: device offline, isolation scan, watch-listed plate, tailgating."""

    __tablename__ = "access_alarms"
    __table_args__ = (Index("ix_access_alarms_open", "type", "device_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(24), index=True)
    state: Mapped[str] = mapped_column(String(12), default="open", index=True)
    community_id: Mapped[int | None] = mapped_column(index=True)
    compound_id: Mapped[int | None]
    gate_id: Mapped[int | None] = mapped_column(index=True)
    device_id: Mapped[str | None] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    cleared_at: Mapped[datetime | None]
    summary: Mapped[str] = mapped_column(String(200))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
