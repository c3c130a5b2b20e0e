"""YOLOX-Nano (COCO, 416×416) on onnxruntime, with the pre- and post-processing its export needs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from jiayuan.vision.detect import Detection, Frame
from jiayuan.vision.runtime import cpu_session

COCO_NAMES = (  # noqa: SIM905 - the 80 names read better as text
    "person bicycle car motorcycle airplane bus train truck boat traffic_light fire_hydrant stop_sign "
    "parking_meter bench bird cat dog horse sheep cow elephant bear zebra giraffe backpack umbrella "
    "handbag tie suitcase frisbee skis snowboard sports_ball kite baseball_bat baseball_glove skateboard "
    "surfboard tennis_racket bottle wine_glass cup fork knife spoon bowl banana apple sandwich orange "
    "broccoli carrot hot_dog pizza donut cake chair couch potted_plant bed dining_table toilet tv laptop "
    "mouse remote keyboard cell_phone microwave oven toaster sink refrigerator book clock vase scissors "
    "teddy_bear hair_drier toothbrush"
).split()
INPUT = 416
STRIDES = (8, 16, 32)


def _grid() -> tuple[np.ndarray, np.ndarray]:
    cells, strides = [], []
    for stride in STRIDES:
        n = INPUT // stride
        ys, xs = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        cells.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        strides.append(np.full((n * n, 1), stride))
    return np.concatenate(cells).astype(np.float32), np.concatenate(strides).astype(np.float32)


def letterbox(frame: Frame) -> tuple[np.ndarray, float]:
    """The 1×3×416×416 float input (BGR, 0–255, top-left letterbox on grey 114) and the scale."""
    h, w = frame.shape[:2]
    r = min(INPUT / h, INPUT / w)
    resized = cv2.resize(frame, (int(w * r), int(h * r)), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((INPUT, INPUT, 3), 114, dtype=np.uint8)
    canvas[: resized.shape[0], : resized.shape[1]] = resized
    return canvas.transpose(2, 0, 1)[None].astype(np.float32), r


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Indices kept by greedy non-maximum suppression."""
    order = scores.argsort()[::-1]
    keep: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        i = int(order[0])
        keep.append(i)
        xx1 = np.maximum(boxes[i, 0], boxes[order[1:], 0])
        yy1 = np.maximum(boxes[i, 1], boxes[order[1:], 1])
        xx2 = np.minimum(boxes[i, 2], boxes[order[1:], 2])
        yy2 = np.minimum(boxes[i, 3], boxes[order[1:], 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        overlap = inter / (areas[i] + areas[order[1:]] - inter + 1e-9)
        order = order[1:][overlap <= iou]
    return keep


class YoloxDetector:
    """COCO objects from the YOLOX-Nano ONNX file; boxes below `threshold` are dropped."""

    name = "yolox"

    def __init__(
        self, model_path: Path, *, threads: int = 1, threshold: float = 0.1, iou: float = 0.45
    ) -> None:
        self._session = cpu_session(model_path, threads=threads)
        self._input = self._session.get_inputs()[0].name
        self._cells, self._strides = _grid()
        self.threshold = threshold
        self.iou = iou

    def raw(self, frame: Frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (frame pixels), scores and COCO class indices after class-agnostic NMS."""
        blob, r = letterbox(frame)
        out = self._session.run(None, {self._input: blob})[0][0]
        centres = (out[:, :2] + self._cells) * self._strides
        sizes = np.exp(np.clip(out[:, 2:4], -10, 10)) * self._strides
        class_scores = out[:, 5:] * out[:, 4:5]
        classes = class_scores.argmax(axis=1)
        scores = class_scores[np.arange(len(classes)), classes]
        mask = scores >= self.threshold
        centres, sizes, scores, classes = centres[mask], sizes[mask], scores[mask], classes[mask]
        boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1) / r
        h, w = frame.shape[:2]
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        # Class-agnostic NMS removes the car+bus double boxes on one vehicle.
        keep = nms(boxes, scores, self.iou)
        return boxes[keep], scores[keep], classes[keep]

    def detect(self, frame: Frame) -> list[Detection]:
        """Every kept box with its COCO name (the pipeline decides which names count)."""
        boxes, scores, classes = self.raw(frame)
        return [
            Detection(
                box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])), score=float(s), label=COCO_NAMES[c]
            )
            for b, s, c in zip(boxes, scores, classes, strict=True)
        ]
