"""The no-weights detector: moving blobs from background subtraction, labelled by HOG or by shape.

OpenCV's HOG people detector is used where the installed OpenCV has it (the 4.x wheels); the
5.0 wheels ship without it, and then a blob's shape decides: upright → person, large → car.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from jiayuan.vision.detect import Detection, Frame


class MotionHogDetector:
    """Moving blobs (MOG2) labelled person or car."""

    name = "fallback"

    def __init__(self, *, min_area: float = 600.0, vehicle_area_fraction: float = 0.03) -> None:
        self._subtractor = cv2.createBackgroundSubtractorMOG2(
            history=300, varThreshold=32, detectShadows=True
        )
        self._hog: Any = None
        if hasattr(cv2, "HOGDescriptor"):
            self._hog = cv2.HOGDescriptor()
            self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())  # type: ignore[attr-defined]
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        self.min_area = min_area
        self.vehicle_area_fraction = vehicle_area_fraction

    def detect(self, frame: Frame) -> list[Detection]:
        """Blobs labelled person, car or left out."""
        h, w = frame.shape[:2]
        scale = 320.0 / w if w > 320 else 1.0
        small = cv2.resize(frame, (round(w * scale), round(h * scale))) if scale != 1.0 else frame
        mask = self._subtractor.apply(small)
        _, mask = cv2.threshold(mask, 200, 255, cv2.THRESH_BINARY)  # shadows (127) are not objects
        if cv2.countNonZero(mask) > 0.4 * mask.size:
            # A sudden exposure change lights up the whole frame: relearn instead of reporting it.
            self._subtractor.apply(small, learningRate=1.0)
            return []
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        mask = cv2.dilate(mask, self._kernel, iterations=2)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        people = self._people(frame)
        found: list[Detection] = []
        for contour in contours:
            x, y, bw, bh = cv2.boundingRect(contour)
            box = (x / scale, y / scale, (x + bw) / scale, (y + bh) / scale)
            area = (box[2] - box[0]) * (box[3] - box[1])
            if area < self.min_area:
                continue
            person = next((p for p in people if _overlap(p, box) > 0.3), None)
            if person is not None:
                found.append(Detection(box=person, score=0.6, label="person"))
            elif area >= self.vehicle_area_fraction * w * h:
                found.append(Detection(box=box, score=0.5, label="car"))
            elif self._hog is None and (box[3] - box[1]) >= 1.2 * (box[2] - box[0]):
                found.append(Detection(box=box, score=0.45, label="person"))
        return found

    def _people(self, frame: Frame) -> list[tuple[float, float, float, float]]:
        if self._hog is None:
            return []
        h, w = frame.shape[:2]
        scale = min(1.0, 480.0 / max(h, w))
        small = cv2.resize(frame, (round(w * scale), round(h * scale))) if scale < 1.0 else frame
        rects, weights = self._hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8), scale=1.1)
        return [
            (x / scale, y / scale, (x + rw) / scale, (y + rh) / scale)
            for (x, y, rw, rh), wt in zip(np.asarray(rects).reshape(-1, 4), np.ravel(weights), strict=True)
            if wt > 0.3
        ]


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller if smaller > 0 else 0.0
