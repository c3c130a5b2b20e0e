"""Commands to devices (DESIGN.md §3): the same envelope, checked against the command schemas."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from jiayuan.devices.protocol import COMMAND_PAYLOADS, Envelope
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.ids import new_event_id

QR_KINDS = frozenset({"qr", "qr_reader"})


def build(device_id: str, type: str, payload: dict[str, Any], *, at: datetime | None = None) -> bytes:
    """A command envelope as bytes; raises ValueError when the payload does not fit its type."""
    schema = COMMAND_PAYLOADS.get(type)
    if schema is None:
        raise ValueError(f"unknown command type {type!r}")
    schema.model_validate(payload)
    envelope = Envelope(
        v=1, id=new_event_id(), device=device_id, type=type, ts=at or utcnow(), payload=payload
    )
    return json.dumps(envelope.model_dump(mode="json"), ensure_ascii=False).encode()
