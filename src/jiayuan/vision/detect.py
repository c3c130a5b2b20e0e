"""The detector interface, the mapping to the protocol's classes, a fake for tests, and the factory."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from jiayuan.vision.config import ObjectClass
from jiayuan.vision.geometry import Box

Frame = np.ndarray
DetectorKind = Literal["auto", "yolox", "fallback"]

# COCO names the gate cares about, mapped to the protocol's classes; motorcycles stand for e-bikes.
PROTOCOL_CLASS: dict[str, ObjectClass] = {
    "person": "person",
    "bicycle": "bicycle",
    "motorcycle": "bicycle",
    "car": "car",
    "bus": "bus",
    "truck": "truck",
}


@dataclass(frozen=True)
class Detection:
    """One box from a detector: pixel corners, score 0–1 and the detector's own label."""

    box: Box
    score: float
    label: str


class Detector(Protocol):
    """Anything that finds objects in a BGR frame."""

    name: str

    def detect(self, frame: Frame) -> list[Detection]:
        """The objects in the frame."""
        ...


def to_protocol_class(label: str, lane_class: ObjectClass | None) -> ObjectClass | None:
    """The protocol class of a detector label, or None when the gate does not count it."""
    mapped = PROTOCOL_CLASS.get(label)
    if mapped == "person":
        return mapped
    if lane_class is not None:
        # On a vehicle lane the detector's vehicle label is often wrong (top-down views look like
        # phones or suitcases to a COCO model); the lane says what passes there.
        return lane_class
    return mapped


class FakeDetector:
    """A scripted detector for tests: a function from the frame number to its detections."""

    name = "fake"

    def __init__(self, script: Callable[[int], Sequence[Detection]]) -> None:
        self._script = script
        self.calls = 0
        self._frame = 0

    def detect(self, frame: Frame) -> list[Detection]:
        """The scripted detections for this frame."""
        self.calls += 1
        return list(self._script(self._frame))

    def advance(self) -> None:
        """Move the script to the next frame (called by the pipeline for every frame)."""
        self._frame += 1


def make_detector(kind: DetectorKind, model_path: Path | None, *, threads: int = 1) -> Detector:
    """The configured detector: YOLOX-Nano when its model file exists, else the no-weights fallback."""
    if kind == "yolox" or (kind == "auto" and model_path is not None and model_path.is_file()):
        if model_path is None or not model_path.is_file():
            raise FileNotFoundError(f"找不到检测模型文件: {model_path}（设置 JIAYUAN_VISION_MODEL_PATH）")
        from jiayuan.vision.yolox import YoloxDetector

        return YoloxDetector(model_path, threads=threads)
    from jiayuan.vision.fallback import MotionHogDetector

    return MotionHogDetector()
