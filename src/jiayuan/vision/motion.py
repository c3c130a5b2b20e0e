"""Motion gating: the detector runs only when something in the frame changed."""

from __future__ import annotations

import cv2
import numpy as np

from jiayuan.vision.detect import Frame


class MotionGate:
    """Compares each frame with the previous one on a small grey copy."""

    def __init__(
        self, *, min_changed_fraction: float = 0.002, pixel_threshold: int = 18, width: int = 160
    ) -> None:
        self.min_changed_fraction = min_changed_fraction
        self.pixel_threshold = pixel_threshold
        self.width = width
        self._previous: np.ndarray | None = None

    def moved(self, frame: Frame) -> bool:
        """Whether enough pixels changed since the previous frame."""
        h, w = frame.shape[:2]
        small = cv2.resize(
            frame, (self.width, max(1, round(h * self.width / w))), interpolation=cv2.INTER_AREA
        )
        grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
        previous, self._previous = self._previous, grey
        if previous is None or previous.shape != grey.shape:
            return True
        changed = cv2.absdiff(grey, previous) > self.pixel_threshold
        return bool(changed.mean() >= self.min_changed_fraction)
