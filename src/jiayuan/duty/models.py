"""Tables of the duty domain: weekly templates, the shifts they and the office produce, holidays."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.db.base import Base, TimestampMixin


class DutyTemplate(TimestampMixin, Base):
    """A person on duty at a place every week on one weekday, between two local (Asia/Shanghai) times;
    an end at or before the start runs overnight into the next day."""

    __tablename__ = "duty_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(index=True)
    user_id: Mapped[int] = mapped_column(index=True)
    duty_role: Mapped[str] = mapped_column(String(16))
    place_kind: Mapped[str] = mapped_column(String(16))
    place_id: Mapped[int | None]
    weekday: Mapped[int]
    start_minute: Mapped[int]
    end_minute: Mapped[int]


class DutyShift(TimestampMixin, Base):
    """One person on duty at one place from `starts_at` (inclusive) to `ends_at` (exclusive). A shift a
    template produced keeps the template, so applying it twice adds nothing."""

    __tablename__ = "duty_shifts"
    __table_args__ = (UniqueConstraint("template_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(index=True)
    user_id: Mapped[int] = mapped_column(index=True)
    duty_role: Mapped[str] = mapped_column(String(16))
    place_kind: Mapped[str] = mapped_column(String(16))
    place_id: Mapped[int | None]
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime] = mapped_column(index=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("duty_templates.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(200), default="")
    signed_in_at: Mapped[datetime | None]
    signed_out_at: Mapped[datetime | None]
    # A shift called off stays on record (and keeps its template from producing it again).
    cancelled_at: Mapped[datetime | None]
    # When the person was told at the start of the shift what is open for them (once per shift).
    reminded_at: Mapped[datetime | None]


class DutyHoliday(Base):
    """A date on which a community's weekly templates are not applied."""

    __tablename__ = "duty_holidays"
    __table_args__ = (UniqueConstraint("community_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(index=True)
    day: Mapped[date]
    name: Mapped[str] = mapped_column(String(32))
