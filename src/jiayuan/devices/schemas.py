"""What the devices API and pages show: dead letters, device status and switches (the wire protocol is
in devices.protocol)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

DEAD_LETTER_REASONS = (
    "bad_json",
    "bad_envelope",
    "unknown_device",
    "topic_mismatch",
    "unknown_type",
    "bad_payload",
    "too_large",
    "clock",
    "revoked_device",
    "bad_snapshot",
    "id_conflict",
    "handler_error",
)


class DeadLetterOut(BaseModel):
    """A dead letter as the API shows it; `raw` is the kept bytes decoded leniently for reading."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: AwareDatetime
    channel: str
    topic: str
    device_id: str | None
    reason: str
    detail: str
    raw: str
    raw_size: int


class DeadLetterCountOut(BaseModel):
    """Dead letters of one device for one reason."""

    device_id: str | None
    reason: str
    count: int


class DeviceStatusOut(BaseModel):
    """A device with its liveness and counters."""

    device_id: str
    name: str
    kind: str
    enabled: bool
    gate_id: int | None
    gate_name: str | None
    compound_id: int | None
    state: str
    state_at: AwareDatetime | None
    last_seen_at: AwareDatetime | None
    last_heartbeat_at: AwareDatetime | None
    silent: bool
    fw: str | None
    events_accepted: int
    duplicates: int
    dead_letters: int


class PushResult(BaseModel):
    """The answer to an event pushed over HTTP."""

    result: Literal["accepted", "duplicate", "dead_letter"]
    reason: str | None = None
    detail: str | None = None


class DeviceDisable(BaseModel):
    """Disable a device: why (audited), and whether its tokens are revoked too (by default)."""

    reason: str = Field(min_length=1, max_length=200)
    revoke_tokens: bool = True


class DeviceEnable(BaseModel):
    """Enable a device again: why (audited)."""

    reason: str = Field(min_length=1, max_length=200)


class DeviceSwitchOut(BaseModel):
    """A device after it was disabled or enabled."""

    device_id: str
    enabled: bool
    tokens_revoked: int
