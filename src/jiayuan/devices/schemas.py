"""Device protocol v1 (DESIGN.md §3): the envelope, one payload schema per event and command type."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

DeviceId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
EVENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$"
EventId = Annotated[str, StringConstraints(pattern=EVENT_ID_PATTERN)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# A snapshot id names a file on the platform's disk: letters, digits, `_` and `-` only, never a path.
SNAPSHOT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
SnapshotId = Annotated[str, StringConstraints(pattern=SNAPSHOT_ID_PATTERN)]
# The largest evidence JPEG a device may publish on its snapshots topic.
SNAPSHOT_MAX_BYTES = 512 * 1024
# The most ids one `delivered` receipt names (about 40 KiB); a bigger batch gets several receipts.
RECEIPT_MAX_IDS = 1000
# What a BIGINT column (and the JSON serialiser of the payload column) holds.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
Direction = Literal["in", "out"]
ObjectClass = Literal["person", "bicycle", "car", "truck", "bus"]
TrackId = int | Label | None


def _storable_in_utc(ts: datetime) -> datetime:
    """Refuse an offset that moves the time outside years 1-9999 once stored in UTC."""
    try:
        ts.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range in UTC") from None
    return ts


Timestamp = Annotated[AwareDatetime, AfterValidator(_storable_in_utc)]


class _Strict(BaseModel):
    """Unknown fields are refused so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Envelope(_Strict):
    """What every event and command travels in; `(device, id)` is the de-duplication key."""

    v: Literal[1]
    id: EventId
    device: DeviceId
    type: Label
    ts: Timestamp
    seq: int | None = Field(default=None, ge=0, le=INT64_MAX)
    payload: dict[str, Any]


class QrScan(_Strict):
    """A pass read by a QR reader at a gate."""

    token: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    direction: Direction
    local_decision: Literal["ok", "refused"] | None = None
    local_reason: Annotated[str, StringConstraints(max_length=32)] | None = None


class PlateRead(_Strict):
    """A licence plate read by a plate camera."""

    plate: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    color: Literal["blue", "yellow", "green", "white", "black"]
    confidence: float = Field(ge=0, le=1)
    direction: Direction
    snapshot: Label | None = None
    track_id: TrackId = None


class LineCross(_Strict):
    """Objects that crossed a counting line (camera through the vision worker)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    line: Label
    class_: ObjectClass = Field(alias="class")
    direction: Direction
    count: int = Field(default=1, ge=1, le=1000)
    track_id: TrackId = None
    snapshot: Label | None = None


class Occupancy(_Strict):
    """How many objects a zone holds now."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    zone: Label
    class_: ObjectClass = Field(alias="class")
    count: int = Field(ge=0, le=100000)


class Loitering(_Strict):
    """An object that stayed in a zone too long."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    zone: Label
    class_: ObjectClass = Field(alias="class")
    seconds: float = Field(ge=0)
    track_id: TrackId = None
    snapshot: Label | None = None


class Sos(_Strict):
    """A one-click alarm button pressed."""

    button: Label
    pressed: Literal["short", "long"]


class Door(_Strict):
    """A gate door changed state."""

    state: Literal["opened", "closed", "forced", "held_open"]
    by: Literal["pass", "remote", "key"] | None = None


class Heartbeat(_Strict):
    """The device is alive (every 30 s)."""

    uptime_s: int = Field(ge=0)
    fw: Label
    temp_c: float | None = Field(default=None, ge=-60, le=150)
    queue: int | None = Field(default=None, ge=0)


class CommandAck(_Strict):
    """The device's answer to a command."""

    command_id: EventId
    ok: bool
    detail: Annotated[str, StringConstraints(max_length=500)] = ""


EVENT_PAYLOADS: dict[str, type[_Strict]] = {
    "qr_scan": QrScan,
    "plate_read": PlateRead,
    "line_cross": LineCross,
    "occupancy": Occupancy,
    "loitering": Loitering,
    "sos": Sos,
    "door": Door,
    "heartbeat": Heartbeat,
    "command_ack": CommandAck,
}


class DeviceStatusMessage(_Strict):
    """The retained online/offline message on the status topic (offline is the last will)."""

    v: Literal[1]
    state: Literal["online", "offline"]
    ts: Timestamp


class Announce(_Strict):
    """语音播报."""

    text: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    audio: Annotated[str, StringConstraints(max_length=500)] | None = None
    repeat: int = Field(default=1, ge=1, le=10)
    volume: int = Field(default=80, ge=0, le=100)


class Talk(_Strict):
    """实时喊话."""

    action: Literal["start", "stop"]
    stream: Annotated[str, StringConstraints(max_length=500)] | None = None


class Open(_Strict):
    """Remote door open."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class PublicKey(_Strict):
    """One pass-verification key."""

    kid: Label
    ed25519: Annotated[str, StringConstraints(min_length=43, max_length=44)]


class Keys(_Strict):
    """The public keys a gate reader verifies passes with."""

    keys: list[PublicKey]


class Revocations(_Strict):
    """Revoked pass and person ids, with a version the reader can compare."""

    version: int = Field(ge=0)
    revoked: list[Label]


class DeviceConfig(BaseModel):
    """Free-form settings per device kind."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Delivered(_Strict):
    """The receipt: these events and snapshots are committed (stored, or parked as dead letters).

    A device may drop them from its outbox; whatever it still holds after a reconnect it sends again.
    """

    ids: list[EventId] = Field(default_factory=list, max_length=RECEIPT_MAX_IDS)
    snapshots: list[SnapshotId] = Field(default_factory=list, max_length=RECEIPT_MAX_IDS)


COMMAND_PAYLOADS: dict[str, type[BaseModel]] = {
    "delivered": Delivered,
    "announce": Announce,
    "talk": Talk,
    "open": Open,
    "keys": Keys,
    "revocations": Revocations,
    "config": DeviceConfig,
}

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
