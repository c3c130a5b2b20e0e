"""What a vehicle's finished plate read is published as: a plate, or an unreadable plate for a person."""

from __future__ import annotations

from typing import Any

from jiayuan.devices.protocol import EventType
from jiayuan.vision.plates import PlateRead


def plate_event(read: PlateRead, *, direction: str, track_id: int) -> tuple[EventType, dict[str, Any]]:
    """`plate_read` when the text follows a plate format, else `plate_unreadable` with the text as read.

    Text that is no plate (a banner, a shop sign, a misread) is never published as one; the worker
    attaches the evidence snapshot, which a person reads in the console (待辨认车牌).
    """
    confidence = round(read.confidence, 3)
    if read.valid:
        payload = {"plate": read.plate, "color": read.color, "confidence": confidence}
        return "plate_read", payload | {"direction": direction, "track_id": track_id}
    text = read.raw.strip()[:64] or None
    payload = {"text": text, "confidence": confidence, "direction": direction, "track_id": track_id}
    return "plate_unreadable", payload
