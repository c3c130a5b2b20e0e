"""Tables of the access domain: alarms, passes and their checks, vehicles, flow buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.db.base import Base, TimestampMixin
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


class VisitorPass(TimestampMixin, Base):
    """访客通行证: a household invites a visitor for a time window and a number of entries."""

    __tablename__ = "visitor_passes"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(index=True)
    compound_id: Mapped[int] = mapped_column(index=True)
    community_id: Mapped[int] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(32))
    phone_cipher: Mapped[str] = mapped_column(String(128))
    phone_tail: Mapped[str] = mapped_column(String(4))
    plate: Mapped[str | None] = mapped_column(String(16), index=True)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    entries_allowed: Mapped[int]
    entries_used: Mapped[int] = mapped_column(default=0)
    invited_by_user_id: Mapped[int | None]
    revoked_at: Mapped[datetime | None]


class Isolation(TimestampMixin, Base):
    """居家隔离: a person who must not pass the gates between `starts_at` and `ends_at` (with consent)."""

    __tablename__ = "isolations"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(index=True)
    community_id: Mapped[int] = mapped_column(index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    purpose: Mapped[str] = mapped_column(String(200))
    consent_recorded: Mapped[bool]
    created_by_user_id: Mapped[int | None]


class PassRevocation(Base):
    """An entry of the revocation list: a person (`p:ID`), a visitor pass (`v:ID`) or one pass nonce."""

    __tablename__ = "pass_revocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    community_id: Mapped[int | None] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)


class PassUse(Base):
    """A nonce accepted once per direction; the unique key is what makes `replayed` race-free."""

    __tablename__ = "pass_uses"
    __table_args__ = (UniqueConstraint("nonce", "direction"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(3))
    used_at: Mapped[datetime] = mapped_column(index=True)


class PassCheck(Base):
    """扫码验码 record: one token checked at a gate, the decision and its reason."""

    __tablename__ = "pass_checks"
    __table_args__ = (Index("ix_pass_checks_gate_at", "gate_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    gate_id: Mapped[int]
    compound_id: Mapped[int]
    community_id: Mapped[int] = mapped_column(index=True)
    device_id: Mapped[str | None] = mapped_column(String(64))
    device_event_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    direction: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str | None] = mapped_column(String(1))
    person_id: Mapped[int | None] = mapped_column(index=True)
    visitor_pass_id: Mapped[int | None]
    household_id: Mapped[int | None]
    nonce: Mapped[str | None] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(16), index=True)
    local_decision: Mapped[str | None] = mapped_column(String(8))


class WatchPlate(Base):
    """布控车牌: a plate that raises an alarm when read at any gate of the community."""

    __tablename__ = "watch_plates"
    __table_args__ = (UniqueConstraint("community_id", "plate"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(index=True)
    plate: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class VehiclePassage(Base):
    """One plate read at a gate, classified; the raw text is kept beside the normalised plate."""

    __tablename__ = "vehicle_passages"
    __table_args__ = (Index("ix_vehicle_passages_gate_at", "gate_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    gate_id: Mapped[int]
    compound_id: Mapped[int]
    community_id: Mapped[int] = mapped_column(index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    device_event_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    plate_raw: Mapped[str] = mapped_column(String(16))
    plate: Mapped[str] = mapped_column(String(16), index=True)
    color: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float]
    direction: Mapped[str] = mapped_column(String(3))
    category: Mapped[str] = mapped_column(String(8))
    valid_format: Mapped[bool]
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    snapshot: Mapped[str | None] = mapped_column(String(64))


class UnreadPlate(Base):
    """待辨认车牌: a vehicle whose plate followed no plate format as read, kept with its snapshot until
    a person reads it (it then becomes a passage) or marks it 无车牌/无法辨认."""

    __tablename__ = "unread_plates"
    __table_args__ = (Index("ix_unread_plates_waiting", "state", "community_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    gate_id: Mapped[int]
    compound_id: Mapped[int]
    community_id: Mapped[int]
    device_id: Mapped[str] = mapped_column(String(64))
    device_event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    event_type: Mapped[str] = mapped_column(String(16))
    text_raw: Mapped[str | None] = mapped_column(String(64))
    color: Mapped[str | None] = mapped_column(String(8))
    confidence: Mapped[float | None]
    direction: Mapped[str | None] = mapped_column(String(3))
    snapshot: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10), default="waiting")
    plate: Mapped[str | None] = mapped_column(String(16))
    passage_id: Mapped[int | None]
    reviewed_at: Mapped[datetime | None]
    reviewed_by_user_id: Mapped[int | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(64))


class VehiclePresence(Base):
    """A vehicle inside a compound: from its entry until its exit, with the dwell time."""

    __tablename__ = "vehicle_presence"
    # Open presences are looked up by plate at every read, and outside vehicles inside now by
    # compound. Partial indexes keep both small; the second one's predicate names the category, so
    # the planner cannot pick it for the plate lookup, even before the table has statistics.
    __table_args__ = (
        Index(
            "ix_vehicle_presence_open_plate", "plate", "compound_id",
            postgresql_where=text("left_at IS NULL"), sqlite_where=text("left_at IS NULL"),
        ),
        Index(
            "ix_vehicle_presence_outside_inside", "compound_id",
            postgresql_where=text("left_at IS NULL AND category = 'outside'"),
            sqlite_where=text("left_at IS NULL AND category = 'outside'"),
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    plate: Mapped[str] = mapped_column(String(16))
    compound_id: Mapped[int]
    community_id: Mapped[int] = mapped_column(index=True)
    category: Mapped[str] = mapped_column(String(8))
    entered_at: Mapped[datetime | None]
    entered_gate_id: Mapped[int | None]
    left_at: Mapped[datetime | None]
    left_gate_id: Mapped[int | None]
    dwell_s: Mapped[int | None]


class FlowBucket(Base):
    """人员流动 in 5-minute buckets per gate: scans, camera counts, outside vehicles."""

    __tablename__ = "flow_buckets"
    __table_args__ = (
        UniqueConstraint("gate_id", "bucket"),
        Index("ix_flow_buckets_compound", "compound_id", "bucket"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gate_id: Mapped[int]
    compound_id: Mapped[int]
    community_id: Mapped[int] = mapped_column(index=True)
    bucket: Mapped[datetime]
    people_in: Mapped[int] = mapped_column(default=0)
    people_out: Mapped[int] = mapped_column(default=0)
    camera_in: Mapped[int] = mapped_column(default=0)
    camera_out: Mapped[int] = mapped_column(default=0)
    vehicles_in: Mapped[int] = mapped_column(default=0)
    vehicles_out: Mapped[int] = mapped_column(default=0)
    outside_in: Mapped[int] = mapped_column(default=0)
    outside_out: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)
    # Raised by one at every change: a live `access.flow` event carries the revision it made, so a
    # client that reloaded the counters knows which events they already hold.
    revision: Mapped[int] = mapped_column(default=0)


FLOW_BUCKET = timedelta(minutes=5)
# The counter columns of `FlowBucket`, in the order reports list them.
FLOW_COUNTERS = (
    "people_in",
    "people_out",
    "camera_in",
    "camera_out",
    "vehicles_in",
    "vehicles_out",
    "outside_in",
    "outside_out",
    "refused",
)


def bucket_of(at: datetime) -> datetime:
    """The start of the 5-minute bucket holding `at` (UTC): the `FlowBucket.bucket` it counts in."""
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % 5, second=0, microsecond=0)
