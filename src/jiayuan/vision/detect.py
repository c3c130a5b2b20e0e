"""The detector interface, the mapping to the protocol's classes, a fake for tests, and the factory."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from jiayuan.vision.config import ObjectClass
from jiayuan.vision.geometry import Box

Frame = np.ndarray

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


class ModelError(RuntimeError):
    """The detector's model file is missing or cannot be loaded; the message says what to do."""


# What a person does about a missing or broken model; the wheel carries the file (vision/models/).
_REMEDY = (
    "安装包自带该模型（jiayuan/vision/models/yolox_nano.onnx）：请重新安装 jiayuan"
    "（pip install --force-reinstall jiayuan），"
    "或把 JIAYUAN_VISION_MODEL_PATH 设为一个可读的 YOLOX-Nano ONNX 文件"
)


def make_detector(model_path: Path, *, threads: int = 1) -> Detector:
    """YOLOX-Nano from the model file (JIAYUAN_VISION_MODEL_PATH, by default the packaged one).

    There is no weaker stand-in: a camera that cannot load its model must not count at all rather
    than count wrongly, so a missing or unreadable file raises ModelError naming the path.
    """
    if not model_path.is_file():
        raise ModelError(f"找不到检测模型文件 {model_path}（设置 JIAYUAN_VISION_MODEL_PATH）。{_REMEDY}。")
    from jiayuan.vision.yolox import YoloxDetector

    try:
        return YoloxDetector(model_path, threads=threads)
    except Exception as exc:  # onnxruntime raises its own types for unreadable or invalid files
        reason = (
            str(exc).strip().splitlines()[0][:200].rstrip("。.") if str(exc).strip() else type(exc).__name__
        )
        raise ModelError(
            f"无法加载检测模型文件 {model_path}（设置 JIAYUAN_VISION_MODEL_PATH）：{reason}。{_REMEDY}。"
        ) from exc
