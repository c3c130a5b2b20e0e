"""Device protocol v1 (DESIGN.md §3, docs/devices.md), defined once for every side of the link.

The topics, the envelope, one payload schema per event and command type, the status message and the
limits. The platform decodes with it (devices.decode), and the simulator and the vision worker publish
with it, so what a device sends and what the platform accepts cannot drift apart. No database here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from jiayuan.kernel.clock import local
from jiayuan.kernel.ids import new_event_id

DeviceId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
EVENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$"
EventId = Annotated[str, StringConstraints(pattern=EVENT_ID_PATTERN)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# A snapshot id names a file on the platform's disk: letters, digits, `_` and `-` only, never a path.
SNAPSHOT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
SnapshotId = Annotated[str, StringConstraints(pattern=SNAPSHOT_ID_PATTERN)]
# The largest event envelope the platform accepts by default (JIAYUAN_DEVICE_EVENT_MAX_BYTES may differ).
ENVELOPE_MAX_BYTES = 16 * 1024
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


class PlateUnreadable(_Strict):
    """A vehicle whose plate follows no plate format as read: its snapshot goes to a person to read."""

    snapshot: SnapshotId
    text: Annotated[str, StringConstraints(max_length=64)] | None = None
    confidence: float | None = Field(default=None, ge=0, le=1)
    direction: Direction | None = None
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


EventType = Literal[
    "qr_scan",
    "plate_read",
    "plate_unreadable",
    "line_cross",
    "occupancy",
    "loitering",
    "sos",
    "door",
    "heartbeat",
    "command_ack",
]
EVENT_PAYLOADS: dict[str, type[_Strict]] = {
    "qr_scan": QrScan,
    "plate_read": PlateRead,
    "plate_unreadable": PlateUnreadable,
    "line_cross": LineCross,
    "occupancy": Occupancy,
    "loitering": Loitering,
    "sos": Sos,
    "door": Door,
    "heartbeat": Heartbeat,
    "command_ack": CommandAck,
}


Health = Literal["ok", "degraded"]
HEALTH_REASONS_MAX = 8
HEALTH_TEXT_MAX = 200


class HealthReason(_Strict):
    """Why a device runs degraded: a short code (the camera worker's: analysis_slow, source_unstable,
    plates_off; a device may name its own), and the device's own words (Chinese, with figures)."""

    code: Label
    text: Annotated[str, StringConstraints(min_length=1, max_length=HEALTH_TEXT_MAX)]


class DeviceStatusMessage(_Strict):
    """The retained online/offline message on the status topic (offline is the last will).

    `health` (optional) says whether an online device does all its work: `degraded` with `reasons`
    when it runs but not fully (a camera that cannot keep its analysis rate, a source that keeps
    dropping, plate reading off). A device that never sends it is simply not judged.
    """

    v: Literal[1]
    state: Literal["online", "offline"]
    ts: Timestamp
    health: Health | None = None
    reasons: list[HealthReason] = Field(default_factory=list, max_length=HEALTH_REASONS_MAX)


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


@dataclass(frozen=True)
class Topics:
    """The topic scheme under a prefix (`jiayuan` in production, a private one per test run)."""

    prefix: str = "jiayuan"

    def device_root(self, device_id: str) -> str:
        """Every topic of one device starts with this (the broker's per-device ACLs grant it)."""
        return f"{self.prefix}/v1/devices/{device_id}/"

    @property
    def events_filter(self) -> str:
        """Subscription filter for every device's events."""
        return f"{self.prefix}/v1/devices/+/events"

    @property
    def status_filter(self) -> str:
        """Subscription filter for every device's retained status."""
        return f"{self.prefix}/v1/devices/+/status"

    @property
    def snapshots_filter(self) -> str:
        """Subscription filter for every device's evidence snapshots (raw JPEG)."""
        return f"{self.prefix}/v1/devices/+/snapshots/+"

    def snapshot(self, device_id: str, snapshot_id: str) -> str:
        """The topic a device publishes one evidence snapshot on."""
        return f"{self.device_root(device_id)}snapshots/{snapshot_id}"

    def parse_snapshot(self, topic: str) -> tuple[str, str] | None:
        """`(device_id, snapshot_id)` of a snapshot topic under this prefix (ids not yet checked), or None."""
        head = f"{self.prefix}/v1/devices/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head) :].split("/")
        if len(parts) != 3 or not parts[0] or parts[1] != "snapshots":
            return None
        return parts[0], parts[2]

    def events(self, device_id: str) -> str:
        """The topic a device publishes its events on."""
        return f"{self.device_root(device_id)}events"

    def status(self, device_id: str) -> str:
        """The topic of a device's retained online/offline state."""
        return f"{self.device_root(device_id)}status"

    def live(self, device_id: str) -> str:
        """Where a camera publishes annotated live frames (QoS 0, not stored)."""
        return f"{self.device_root(device_id)}live"

    @property
    def live_filter(self) -> str:
        """Subscription filter for every camera's live frames."""
        return f"{self.prefix}/v1/devices/+/live"

    def commands(self, device_id: str) -> str:
        """The topic a device reads its commands from."""
        return f"{self.device_root(device_id)}commands"

    @property
    def committed(self) -> str:
        """Where the ingest process announces the events each batch committed (web apps relay them)."""
        return f"{self.prefix}/v1/platform/committed"

    def parse(self, topic: str) -> tuple[str, str] | None:
        """`(device_id, kind)` of a device topic under this prefix, or None."""
        head = f"{self.prefix}/v1/devices/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head) :].split("/")
        if len(parts) != 2 or not parts[0] or parts[1] not in ("events", "status"):
            return None
        return parts[0], parts[1]


def timestamp(moment: datetime) -> str:
    """A moment as devices write `ts`: RFC 3339 with the community's offset and milliseconds."""
    return local(moment).isoformat(timespec="milliseconds")


def event_body(
    device: str,
    event_type: EventType,
    payload: dict[str, Any],
    *,
    at: datetime,
    seq: int | None = None,
    event_id: str | None = None,
) -> tuple[str, bytes]:
    """`(id, bytes)` of one event envelope, its payload checked against the type's schema first.

    Raises pydantic's ValidationError (a ValueError) for a payload the platform would refuse, so a
    publisher never sends what is bound for the dead letters. Every payload schema bounds its fields, so
    no valid event comes near ENVELOPE_MAX_BYTES.
    """
    EVENT_PAYLOADS[event_type].model_validate(payload)
    body: dict[str, Any] = {"v": 1, "id": event_id or new_event_id(), "device": device, "type": event_type,
                            "ts": timestamp(at), "payload": payload}  # fmt: skip
    if seq is not None:
        body["seq"] = seq
    return body["id"], json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def status_body(
    state: Literal["online", "offline"],
    *,
    at: datetime,
    health: Health | None = None,
    reasons: list[HealthReason] | None = None,
) -> bytes:
    """The retained status message of a device (with its health when the device judges it)."""
    body: dict[str, Any] = {"v": 1, "state": state, "ts": timestamp(at)}
    if health is not None:
        body["health"] = health
        body["reasons"] = [r.model_dump() for r in reasons or []]
    DeviceStatusMessage.model_validate(body)
    return json.dumps(body, ensure_ascii=False).encode()
