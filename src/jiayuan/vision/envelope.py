"""Protocol v1 envelopes and topics for the events this worker publishes (DESIGN §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.ids import new_event_id

EventType = Literal["line_cross", "occupancy", "plate_read", "loitering", "qr_scan", "heartbeat"]
MAX_ENVELOPE_BYTES = 16 * 1024
MAX_SNAPSHOT_BYTES = 512 * 1024


class Envelope(BaseModel):
    """One device event as published on the events topic."""

    model_config = ConfigDict(extra="forbid")

    v: Literal[1] = 1
    id: str = Field(min_length=26, max_length=26)
    device: str = Field(min_length=1, max_length=64)
    type: EventType
    ts: str
    seq: int = Field(ge=0)
    payload: dict[str, Any]


def rfc3339(moment: datetime) -> str:
    """A moment in RFC 3339 with the community's offset and milliseconds."""
    return local(moment).isoformat(timespec="milliseconds")


def make_envelope(
    device: str, event_type: EventType, payload: dict[str, Any], *, seq: int, at: datetime | None = None
) -> Envelope:
    """A new envelope with a fresh ULID."""
    return Envelope(
        id=new_event_id(),
        device=device,
        type=event_type,
        ts=rfc3339(at or utcnow()),
        seq=seq,
        payload=payload,
    )


class Topics:
    """The topic names of one device under a configurable prefix (tests isolate themselves with it)."""

    def __init__(self, prefix: str, device: str) -> None:
        base = f"{prefix}/v1/devices/{device}"
        self.events = f"{base}/events"
        self.status = f"{base}/status"
        self.live = f"{base}/live"
        self._snapshots = f"{base}/snapshots"

    def snapshot(self, snapshot_id: str) -> str:
        """Where a snapshot JPEG is published."""
        return f"{self._snapshots}/{snapshot_id}"
