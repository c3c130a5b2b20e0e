"""Drawing on frames: lines, zones, tracked boxes and counts, for evidence snapshots and the live view."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from jiayuan.vision.config import CameraConfig
from jiayuan.vision.counting import LineCounter
from jiayuan.vision.detect import Frame
from jiayuan.vision.track import Track

COLOURS = {
    "person": (80, 200, 80),
    "bicycle": (200, 160, 40),
    "car": (40, 160, 240),
    "truck": (40, 80, 240),
    "bus": (200, 60, 200),
}


def draw(
    frame: Frame,
    config: CameraConfig,
    tracks: Iterable[Track],
    counters: Iterable[LineCounter] = (),
    *,
    highlight: int | None = None,
) -> Frame:
    """A copy of the frame with the camera's lines and zones, the tracks and the line totals."""
    out = frame.copy()
    for zone in config.zones:
        pts = np.asarray(zone.points, dtype=np.int32).reshape(-1, 1, 2)
        cv2.polylines(out, [pts], isClosed=True, color=(0, 200, 255), thickness=1)
    for counter in counters:
        line = counter.line
        a, b = (round(line.x1), round(line.y1)), (round(line.x2), round(line.y2))
        cv2.line(out, a, b, (0, 0, 255), 2)
        ins = sum(n for (d, _), n in counter.totals.items() if d == "in")
        outs = sum(n for (d, _), n in counter.totals.items() if d == "out")
        cv2.putText(
            out,
            f"{line.name} in {ins} out {outs}",
            (a[0] + 4, a[1] - 6),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5,
            (0, 0, 255),
            1,
        )
    for track in tracks:
        x1, y1, x2, y2 = (round(v) for v in track.box)
        colour = COLOURS.get(track.label, (255, 255, 255))
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, 3 if track.track_id == highlight else 1)
        cv2.putText(
            out,
            f"#{track.track_id} {track.label}",
            (x1, max(12, y1 - 4)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            colour,
            1,
        )
    return out


def to_jpeg(frame: Frame, *, max_bytes: int = 512 * 1024, max_width: int = 1280, quality: int = 85) -> bytes:
    """JPEG bytes no larger than max_bytes (scaled down and compressed harder when needed)."""
    h, w = frame.shape[:2]
    if w > max_width:
        frame = cv2.resize(frame, (max_width, round(h * max_width / w)), interpolation=cv2.INTER_AREA)
    while True:
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise ValueError("JPEG 编码失败")
        if buf.nbytes <= max_bytes or quality <= 30:
            if buf.nbytes <= max_bytes:
                return buf.tobytes()
            frame = cv2.resize(frame, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
            continue
        quality -= 15


def stamp(jpeg: bytes, captured_at: float) -> bytes:
    """The JPEG with a comment segment saying when its frame was captured (Unix seconds).

    Viewers ignore it; whoever measures the live view's delay reads it (`captured_at`)."""
    text = f"jiayuan-captured-at={captured_at:.3f}".encode()
    return jpeg[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + jpeg[2:]


def captured_at(jpeg: bytes) -> float | None:
    """The capture time `stamp` wrote into a JPEG, or None."""
    if jpeg[2:4] != b"\xff\xfe":
        return None
    size = int.from_bytes(jpeg[4:6], "big")
    key, _, value = jpeg[6 : 4 + size].partition(b"=")
    try:
        return float(value) if key == b"jiayuan-captured-at" else None
    except ValueError:
        return None
