"""Tables of the patrol domain: plans (which cameras, what to check, how often) and the rounds made."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jiayuan.db.base import Base, TimestampMixin
from jiayuan.kernel.clock import utcnow


class PatrolPlan(TimestampMixin, Base):
    """A patrol plan of one community: its cameras in order, each with a checklist, and a schedule
    (a round every `every_minutes` from `window_start` to `window_end`, Beijing time; a window that
    ends before it starts runs over midnight, an empty one all day).

    The schedule stored here is in force from `since` (None: from the start) while the plan is active;
    the schedules it had before are kept as its terms, so the rounds due then, done or missed, still
    count after a change, a pause or its retirement (`retired_at`: no more rounds, the record stays)."""

    __tablename__ = "patrol_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(64))
    every_minutes: Mapped[int]
    window_start: Mapped[str] = mapped_column(String(5))
    window_end: Mapped[str] = mapped_column(String(5))
    grace_minutes: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)
    since: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]
    created_by_user_id: Mapped[int | None]
    cameras: Mapped[list[PatrolCamera]] = relationship(
        back_populates="plan", order_by="PatrolCamera.position", cascade="all, delete-orphan"
    )
    terms: Mapped[list[PatrolTerm]] = relationship(
        back_populates="plan", order_by="PatrolTerm.ends_at", cascade="all, delete-orphan"
    )


class PatrolTerm(Base):
    """A schedule a plan had while it was active, from `starts_at` (None: from the start) to `ends_at`."""

    __tablename__ = "patrol_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("patrol_plans.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime]
    every_minutes: Mapped[int]
    window_start: Mapped[str] = mapped_column(String(5))
    window_end: Mapped[str] = mapped_column(String(5))
    grace_minutes: Mapped[int]
    plan: Mapped[PatrolPlan] = relationship(back_populates="terms")


class PatrolCamera(Base):
    """One camera of a plan and what to look for on it."""

    __tablename__ = "patrol_cameras"
    __table_args__ = (UniqueConstraint("plan_id", "device_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("patrol_plans.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int]
    checklist: Mapped[list[str]] = mapped_column(JSON, default=list)
    plan: Mapped[PatrolPlan] = relationship(back_populates="cameras")


class PatrolRound(Base):
    """A round of one plan's slot: who made it, when it began and ended. One per slot."""

    __tablename__ = "patrol_rounds"
    __table_args__ = (UniqueConstraint("plan_id", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("patrol_plans.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int] = mapped_column(index=True)
    slot: Mapped[datetime] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(16))
    by_user_id: Mapped[int | None]
    by_name: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    checks: Mapped[list[PatrolCheck]] = relationship(
        back_populates="round", order_by="PatrolCheck.id", cascade="all, delete-orphan"
    )


class PatrolCheck(Base):
    """One camera looked at in a round: each checklist item's answer, a note, the picture seen, and the
    case a finding opened."""

    __tablename__ = "patrol_checks"
    __table_args__ = (UniqueConstraint("round_id", "device_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("patrol_rounds.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    looked_at: Mapped[datetime] = mapped_column(default=utcnow)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(String(500), default="")
    snapshot_id: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[int | None]
    round: Mapped[PatrolRound] = relationship(back_populates="checks")
