"""Tables of the devices domain: the inbox of accepted events, dead letters, device status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.db.base import Base
from jiayuan.kernel.clock import utcnow


class DeviceEvent(Base):
    """One accepted device event, stored once: `(device_id, event_id)` is unique."""

    __tablename__ = "device_events"
    __table_args__ = (
        UniqueConstraint("device_id", "event_id"),
        Index("ix_device_events_type_ts", "type", "ts"),
        Index("ix_device_events_gate_ts", "gate_id", "ts"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16))
    ts: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    gate_id: Mapped[int | None]
    community_id: Mapped[int | None] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class DeadLetter(Base):
    """A message the platform refused, kept with the reason so an integrator can fix the device."""

    __tablename__ = "device_dead_letters"
    __table_args__ = (Index("ix_device_dead_letters_device_reason", "device_id", "reason"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(8))
    topic: Mapped[str] = mapped_column(String(255))
    device_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(16), index=True)
    detail: Mapped[str] = mapped_column(String(500))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    raw_size: Mapped[int]


class DeviceStatus(Base):
    """Liveness and counters of one known device; counters change in the same transaction as the rows."""

    __tablename__ = "device_status"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(8), default="unknown")
    state_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    last_heartbeat_at: Mapped[datetime | None]
    fw: Mapped[str | None] = mapped_column(String(64))
    last_seq: Mapped[int | None] = mapped_column(BigInteger)
    events_accepted: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates: Mapped[int] = mapped_column(BigInteger, default=0)
    dead_letters: Mapped[int] = mapped_column(BigInteger, default=0)
    # When the device counts as silent unless it is heard from again (the liveness scheduler's due time).
    silent_due_at: Mapped[datetime | None] = mapped_column(index=True)
    silent: Mapped[bool] = mapped_column(default=False)
    # What the newest status message said of the device's work: None (not judged), ok or degraded,
    # with the device's reasons ([{"code", "text"}]) while degraded.
    health: Mapped[str | None] = mapped_column(String(8))
    health_reasons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)


class BrokerCredential(Base):
    """A device token kept sealed (AES-GCM, key from the secret key) for the MQTT broker.

    The broker stores its own salted hash of a device's password and must be given the password in
    clear; keeping it sealed lets `jiayuan broker sync` rebuild the broker's accounts at any time.
    Only the hash is kept for HTTP (accounts.ApiToken); a revoked token's copy is deleted.
    """

    __tablename__ = "device_broker_credentials"

    token_id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    sealed: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # This token is the password the broker holds now (changing it disconnects the device).
    on_broker: Mapped[bool] = mapped_column(default=False)


class DeviceSnapshot(Base):
    """An evidence JPEG a device sent, stored as a file under the var dir (`path` is relative to it).

    The gate's community and compound are kept as they were when it arrived: they decide who may see it.
    """

    __tablename__ = "device_snapshots"
    __table_args__ = (UniqueConstraint("device_id", "snapshot_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    snapshot_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(index=True)
    community_id: Mapped[int | None]
    compound_id: Mapped[int | None]
    gate_id: Mapped[int | None]
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(255), unique=True)
