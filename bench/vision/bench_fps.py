"""Frames per second per core of the vision pipeline (YOLOX-Nano), with and without motion gating.

Run: PYTHONPATH=src .venv/bin/python -m bench.vision.bench_fps [--frames 200] [--json]

Everything runs on one thread (OpenCV and onnxruntime both pinned to 1), and speed is taken from
the process CPU time, so the figure is "per core" even while other work shares the machine.
The ceiling in the same run is the detector alone on the same frames (no dewarp, gating, tracking
or counting): the pipeline's ratio to it is the cost of everything around the model.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np

from jiayuan.settings import get_settings
from jiayuan.vision.config import CameraConfig, LineConfig
from jiayuan.vision.detect import Detector, make_detector
from jiayuan.vision.pipeline import Pipeline

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("JIAYUAN_SHARED_DATA", ROOT.parent / "shared" / "data"))
SIZES = ((640, 480), (1280, 720))
CLIPS = ("person_1.mp4", "car_1.mp4")


def load_frames(size: tuple[int, int], count: int) -> list[np.ndarray]:
    """Frames of the shared count clips (people indoors, cars from above), resized, in order."""
    frames: list[np.ndarray] = []
    while len(frames) < count:
        for clip in CLIPS:
            capture = cv2.VideoCapture(str(DATA / "count" / clip))
            while len(frames) < count:
                ok, frame = capture.read()
                if not ok:
                    break
                frames.append(cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR))
            capture.release()
    return frames


def cpu_fps(work: list[np.ndarray], step: object) -> tuple[float, float]:
    """(frames per CPU second, frames per wall second) of calling step on every frame."""
    c0, w0 = time.process_time(), time.perf_counter()
    for i, frame in enumerate(work):
        step(frame, i / 10.0)  # type: ignore[operator]
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return len(work) / cpu, len(work) / wall


def bench(size: tuple[int, int], frames: list[np.ndarray]) -> dict[str, object]:
    """Pipeline fps with and without gating, and the detector-alone ceiling, for one frame size."""
    w, h = size
    line = LineConfig(name="gate", x1=0, y1=h * 0.5, x2=w, y2=h * 0.5)
    model = get_settings().vision_model_path

    def detector() -> Detector:
        return make_detector(model)

    ceiling_detector = detector()
    ceiling, _ = cpu_fps(frames, lambda f, t: ceiling_detector.detect(f))
    row: dict[str, object] = {
        "detector": "yolox",
        "size": f"{w}x{h}",
        "detector_alone_fps": round(ceiling, 1),
    }
    for gating in (True, False):
        config = CameraConfig(camera="bench", lines=(line,), motion_gating=gating, plates=False)
        pipeline = Pipeline(config, detector(), frame_rate=10)
        fps, wall = cpu_fps(frames, pipeline.process)
        key = "gated" if gating else "ungated"
        row[f"{key}_fps_per_core"] = round(fps, 1)
        row[f"{key}_wall_fps"] = round(wall, 1)
        row[f"{key}_ratio_to_ceiling"] = round(fps / ceiling, 2)
        row[f"{key}_detected_fraction"] = round(pipeline.detections_run / pipeline.frames, 2)
    return row


def main() -> None:
    """Print one row per frame size."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    rows = []
    for size in SIZES:
        frames = load_frames(size, args.frames)
        rows.append(bench(size, frames))
        if not args.json:
            print(rows[-1], flush=True)
    load = os.getloadavg()
    result = {"load_average": [round(x, 2) for x in load], "frames": args.frames, "rows": rows}
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
