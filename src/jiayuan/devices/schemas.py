"""What the devices API and pages show: dead letters, device status and switches (the wire protocol is
in devices.protocol)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from jiayuan.kernel.i18n import N_

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


# What the console calls each reason a device gives for running degraded (devices.protocol).
HEALTH_REASON_LABELS = {
    "analysis_slow": N_("分析跟不上设定帧率"),
    "source_unstable": N_("视频源反复断线"),
    "plates_off": N_("车牌识别未运行"),
}
OTHER_HEALTH_REASON = N_("其他原因")


class HealthReasonOut(BaseModel):
    """Why a device runs degraded: its code, the console's label for it and the device's own words."""

    code: str
    label: str
    text: str


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
    # From the newest status message: None (not judged), "ok" or "degraded" with the device's reasons.
    health: str | None = None
    health_reasons: list[HealthReasonOut] = []


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


@dataclass
class PruneResult:
    """What one pruning pass removed and what is left."""

    expired: int = 0
    over_budget: int = 0
    orphans: int = 0
    kept: int = 0
    kept_bytes: int = 0
