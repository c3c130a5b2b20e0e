"""Turn one raw MQTT/HTTP message into a checked envelope or a dead-letter reason (no database)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ValidationError

from jiayuan.devices.protocol import (
    ENVELOPE_MAX_BYTES,
    EVENT_PAYLOADS,
    INT64_MAX,
    INT64_MIN,
    DeviceStatusMessage,
    Envelope,
    Topics,
)


@dataclass(frozen=True)
class Limits:
    """What the platform accepts: size and how far the device clock may drift."""

    max_bytes: int = ENVELOPE_MAX_BYTES
    future: timedelta = timedelta(minutes=5)
    past: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Event:
    """A well-formed event: envelope plus its typed payload."""

    envelope: Envelope
    payload: BaseModel


@dataclass(frozen=True)
class Status:
    """A well-formed status message of one device."""

    device_id: str
    message: DeviceStatusMessage


@dataclass(frozen=True)
class Rejected:
    """A message that goes to dead letters, with the reason code and a readable detail."""

    reason: str
    detail: str
    device_id: str | None = None


Decoded = Event | Status | Rejected


def _printable(text: str) -> str:
    """ASCII with escapes: a field name from the message may hold NUL, which no text column takes."""
    return text.encode("unicode_escape").decode("ascii")


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ())) or "(root)"
    return _printable(f"{where}: {error.get('msg', 'invalid')}"[:500])


def _refused(exc: ValidationError, reason: str, device_id: str | None) -> Rejected:
    """`bad_json` when the bytes are not JSON (or nest too deep), else `reason`."""
    if exc.errors()[0]["type"] == "json_invalid":
        return Rejected("bad_json", _first_error(exc), device_id)
    return Rejected(reason, _first_error(exc), device_id)


def _unstorable(value: object, where: str) -> str | None:
    """Why a parsed JSON value cannot be stored as sent, naming the field; None when it can.

    PostgreSQL text and JSON refuse NUL, integer columns and JSON serialisers stop at 64 bits, and
    NaN or Infinity are no JSON at all. (Lone surrogates and deep nesting fail the JSON parser.)
    """
    if isinstance(value, str):
        return f"{where}: NUL character" if "\x00" in value else None
    if isinstance(value, int):
        return None if INT64_MIN <= value <= INT64_MAX else f"{where}: integer beyond 64 bits"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where}: not a finite number"
    items: list[tuple[str, object]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return f"{where}.{key}: NUL character in a key"
            items.append((f"{where}.{key}", item))
    elif isinstance(value, list):
        items = [(f"{where}.{index}", item) for index, item in enumerate(value)]
    for name, item in items:
        problem = _unstorable(item, name)
        if problem is not None:
            return problem
    return None


def decode_event(
    raw: bytes, *, now: datetime, limits: Limits, topic_device: str | None, size: int | None = None
) -> Decoded:
    """Check one event message; `topic_device` is who the channel says sent it (the topic or URL)."""
    claimed = topic_device
    size = len(raw) if size is None else size
    if size > limits.max_bytes:
        return Rejected("too_large", f"{size} bytes > {limits.max_bytes}", claimed)
    try:
        envelope = Envelope.model_validate_json(raw)  # parsed and checked in one pass, in pydantic-core
    except ValidationError as exc:
        return _refused(exc, "bad_envelope", claimed)
    if topic_device is not None and envelope.device != topic_device:
        return Rejected("topic_mismatch", f"envelope device {envelope.device} on {topic_device}", claimed)
    schema = EVENT_PAYLOADS.get(envelope.type)
    if schema is None:
        return Rejected("unknown_type", f"type {envelope.type!r}", envelope.device)
    unstorable = _unstorable(envelope.payload, "payload")
    if unstorable is not None:
        return Rejected("bad_payload", _printable(unstorable)[-500:], envelope.device)
    try:
        payload = schema.model_validate(envelope.payload)
    except ValidationError as exc:
        return Rejected("bad_payload", "payload." + _first_error(exc), envelope.device)
    if envelope.ts > now + limits.future:
        return Rejected("clock", f"ts {envelope.ts.isoformat()} is in the future", envelope.device)
    if envelope.ts < now - limits.past:
        return Rejected("clock", f"ts {envelope.ts.isoformat()} is too old", envelope.device)
    return Event(envelope, payload)


def decode_status(raw: bytes, *, device_id: str, limits: Limits) -> Decoded:
    """Check one retained status message."""
    if len(raw) > limits.max_bytes:
        return Rejected("too_large", f"{len(raw)} bytes > {limits.max_bytes}", device_id)
    try:
        return Status(device_id, DeviceStatusMessage.model_validate_json(raw))
    except ValidationError as exc:
        return _refused(exc, "bad_envelope", device_id)


def decode(topic: str, raw: bytes, *, topics: Topics, now: datetime, limits: Limits) -> Decoded:
    """Check a message received on an MQTT topic."""
    parsed = topics.parse(topic)
    if parsed is None:
        return Rejected("bad_envelope", f"not a device topic: {topic[:200]}")
    device_id, kind = parsed
    if kind == "status":
        return decode_status(raw, device_id=device_id, limits=limits)
    return decode_event(raw, now=now, limits=limits, topic_device=device_id)
