"""The outbox table: one row per message per channel, written in the transaction of the change that
caused it and updated by the sender as it tries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.db.base import Base
from jiayuan.kernel.clock import utcnow


class OutboxMessage(Base):
    """A message to send (or, on the console channel, shown as sent)."""

    __tablename__ = "notify_outbox"
    __table_args__ = (
        # The sender's query: rows of one channel in a claimable state that fell due, oldest first.
        Index("ix_notify_outbox_due", "channel", "state", "due_at"),
        Index("ix_notify_outbox_community", "community_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    # The recipient on channels that address a person (a phone number for SMS); empty for group robots.
    target: Mapped[str] = mapped_column(String(128), default="")
    title: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(String(2000))
    # Where the reader follows up (the console page of the case), rendered as a link where the channel can.
    link: Mapped[str] = mapped_column(String(300), default="")
    subject_type: Mapped[str] = mapped_column(String(16), default="")
    subject_id: Mapped[int | None]
    community_id: Mapped[int | None]
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    # When the row may be claimed next: the retry time while pending, the lease's end while sending.
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
