"""Real JPEG pictures and snapshot messages for the snapshot tests."""

from __future__ import annotations

from datetime import datetime

import cv2
import numpy as np

from jiayuan.devices.protocol import Topics
from jiayuan.devices.service.pipeline import RawMessage


def jpeg(shade: int = 90, width: int = 64, height: int = 48) -> bytes:
    """A small real JPEG: a grey picture with a bright box, different per shade."""
    image = np.full((height, width, 3), shade, dtype=np.uint8)
    cv2.rectangle(image, (8, 8), (width // 2, height // 2), (255, 255, 255), -1)
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    return encoded.tobytes()


def snapshot_message(prefix: str, device: str, snapshot_id: str, data: bytes, at: datetime) -> RawMessage:
    """A snapshot as the ingest receives it from the broker."""
    return RawMessage("mqtt", Topics(prefix).snapshot(device, snapshot_id), data, at)
