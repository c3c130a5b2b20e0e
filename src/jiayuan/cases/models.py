"""Tables of the cases domain: a case and every step taken on it (who, when, from what, to what, why)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from jiayuan.db.base import Base, TimestampMixin
from jiayuan.kernel.clock import utcnow


class Case(TimestampMixin, Base):
    """A report or an alarm as work for a person. Its place is stored as the registry gave it at report
    time (community, compound, household and the grid covering it), so scope checks need no join."""

    __tablename__ = "cases"
    # A phone that sends a report twice (a double tap, a replay after being offline) names it the same way.
    __table_args__ = (UniqueConstraint("reporter_user_id", "request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(24), index=True)
    source: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(1000), default="")
    state: Mapped[str] = mapped_column(String(16), index=True)
    level: Mapped[int] = mapped_column(default=0)
    community_id: Mapped[int] = mapped_column(index=True)
    compound_id: Mapped[int | None] = mapped_column(index=True)
    household_id: Mapped[int | None] = mapped_column(index=True)
    grid_id: Mapped[int | None] = mapped_column(index=True)
    place_label: Mapped[str] = mapped_column(String(128), default="")
    # A case opened from a gate or camera alarm keeps where it came from and the alarm's evidence.
    alarm_id: Mapped[int | None] = mapped_column(unique=True)
    gate_id: Mapped[int | None]
    device_id: Mapped[str | None] = mapped_column(String(64))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reporter_user_id: Mapped[int | None] = mapped_column(index=True)
    reporter_name: Mapped[str] = mapped_column(String(64))
    assignee_user_id: Mapped[int | None] = mapped_column(index=True)
    handler_user_id: Mapped[int | None]
    # The cadre (值班干部) on duty when the case opened, told of it beside the dispatched worker.
    cadre_user_id: Mapped[int | None]
    reported_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    closed_at: Mapped[datetime | None]
    # When the next step is due (None once closed); past it the case escalates (cases.deadlines).
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    # A duplicate report closed into the case it repeats; its reporter follows that case instead.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    # Who else may read the case, for what (police and property see only what is shared with them).
    shares: Mapped[list[CaseShare]] = relationship(order_by="CaseShare.id", lazy="selectin")

    steps: Mapped[list[CaseStep]] = relationship(back_populates="case", order_by="CaseStep.id")
    followers: Mapped[list[CaseFollower]] = relationship(cascade="all, delete-orphan")


class CaseStep(Base):
    """One action on a case; the case's history is its steps in order."""

    __tablename__ = "case_steps"
    # A client names its own actions: one person's name for an action is theirs alone.
    __table_args__ = (UniqueConstraint("case_id", "actor_user_id", "request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(String(500), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The client's name for the action: the same action sent again is taken once.
    request_id: Mapped[str | None] = mapped_column(String(64))

    case: Mapped[Case] = relationship(back_populates="steps")
    attachments: Mapped[list[CaseAttachment]] = relationship(order_by="CaseAttachment.id")


class CaseAttachment(Base):
    """A photo or voice note: uploaded first, then given with a report or an action, which binds it to
    that case and step. Kept in the database with its case, so every server of a cluster has it and a
    backup holds the case whole."""

    __tablename__ = "case_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("case_steps.id", ondelete="CASCADE"), index=True)
    uploader_user_id: Mapped[int | None] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(8))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))

    case: Mapped[Case | None] = relationship()


class CaseFollower(Base):
    """Someone who reported the same problem in a report merged into this case: they see it and follow
    its progress as its reporter does."""

    __tablename__ = "case_followers"
    __table_args__ = (UniqueConstraint("case_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(index=True)


class CaseDeadline(Base):
    """A community's own time limit for one step of one category, overriding the default table."""

    __tablename__ = "case_deadlines"
    __table_args__ = (UniqueConstraint("community_id", "category", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(index=True)
    category: Mapped[str] = mapped_column(String(24))
    step: Mapped[str] = mapped_column(String(16))
    minutes: Mapped[int]


class CaseShare(Base):
    """A case shared with one police or property account of its community for a stated purpose
    (协查, 维修 …), until revoked; the row stays as the record of who could read the case when."""

    __tablename__ = "case_shares"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(200), default="")
    shared_by_user_id: Mapped[int | None]
    shared_by_name: Mapped[str] = mapped_column(String(64))
    shared_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by_name: Mapped[str | None] = mapped_column(String(64))
