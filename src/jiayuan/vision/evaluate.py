"""Evaluation on labelled data folders (layout in shared/data/README.md): plates, QR and counting."""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from jiayuan.vision.capture import RateGate
from jiayuan.vision.config import CameraConfig, LineConfig, ObjectClass
from jiayuan.vision.detect import Detector
from jiayuan.vision.pipeline import Pipeline, VisionEvent

Progress = Callable[[int, int], None]


class DataError(ValueError):
    """A data folder that does not follow the expected layout; the message says what is wrong."""


def read_labels(folder: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of labels.csv, checked for the expected columns."""
    path = folder / "labels.csv"
    if not path.is_file():
        raise DataError(f"{folder} 中没有 labels.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path} 缺少列: {', '.join(missing)}")
        return list(reader)


def imread(path: Path) -> np.ndarray:
    """An image as BGR (imdecode handles non-ASCII paths and WebP)."""
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise DataError(f"无法读取图像 {path}")
    return image


def _summary(total: int, correct: int, seconds: float, **extra: Any) -> dict[str, Any]:
    return {
        "total": total,
        "correct": correct,
        "rate": round(correct / total, 4) if total else 0.0,
        "ms_per_item": round(1000 * seconds / total, 1) if total else 0.0,
        **extra,
    }


def eval_plates(folder: Path, *, threads: int = 1, progress: Progress | None = None) -> dict[str, Any]:
    """Exact plate text (and colour) against labels.csv (`file,plate,color`).

    A read counts only when it is valid (follows a plate format): a not-valid read is published as an
    unreadable plate, never as a plate. A row with an empty plate holds no plate (a banner alone): any
    valid read of it is junk, as is every valid read whose text is not the label. The rows are also
    reported by split: even rows (0, 2, …, in labels.csv order) were used for tuning, odd rows were not.
    """
    from jiayuan.vision.plates import PlateReader

    rows = read_labels(folder, ("file", "plate", "color"))
    reader = PlateReader(threads=threads)
    correct = color_correct = unreadable = junk = 0
    split = {"even (tuning)": [0, 0], "odd (held out)": [0, 0]}
    misses: list[dict[str, str]] = []
    started = time.perf_counter()
    for i, row in enumerate(rows):
        image = imread(folder / row["file"])
        crop = row["file"].startswith("crops/")
        read = reader.read_crop(image) if crop else reader.read_scene(image)
        text = read.plate if read and read.valid else ""
        ok = text == row["plate"]
        if not text:
            unreadable += 1
        elif not ok:
            junk += 1
        correct += ok
        half = split["odd (held out)" if i % 2 else "even (tuning)"]
        half[0] += 1
        half[1] += ok
        if not ok:
            misses.append({"file": row["file"], "expected": row["plate"], "read": read.plate if read else ""})
        if (read and read.color == row["color"]) or not row["color"]:
            color_correct += 1
        if progress:
            progress(i + 1, len(rows))
    seconds = time.perf_counter() - started
    return _summary(
        len(rows),
        correct,
        seconds,
        color_correct=color_correct,
        color_rate=round(color_correct / len(rows), 4) if rows else 0.0,
        unreadable=unreadable,
        junk=junk,
        splits={name: f"{ok}/{n}" for name, (n, ok) in split.items()},
        misses=misses,
    )


def eval_qr(folder: Path, *, progress: Progress | None = None) -> dict[str, Any]:
    """Exact QR text against labels.csv (`file,text`), for the decoder and for zxing-cpp alone."""
    from jiayuan.vision.qr import decode, zxing_only

    rows = read_labels(folder, ("file", "text"))
    correct = baseline = 0
    ours = base_seconds = 0.0
    for i, row in enumerate(rows):
        image = imread(folder / row["file"])
        t0 = time.perf_counter()
        base_ok = row["text"] in zxing_only(image)
        t1 = time.perf_counter()
        ok = row["text"] in decode(image)
        t2 = time.perf_counter()
        baseline += base_ok
        correct += ok
        base_seconds += t1 - t0
        ours += t2 - t1
        if progress:
            progress(i + 1, len(rows))
    zxing = _summary(len(rows), baseline, base_seconds)
    return _summary(len(rows), correct, ours, zxing_cpp_alone=zxing)


@dataclass(frozen=True)
class CountKey:
    """One labelled figure: a clip, a line, a direction and a class."""

    file: str
    line: str
    direction: str
    label: str


def count_config(file: str, rows: list[dict[str, str]], lane: bool) -> CameraConfig:
    lines = {r["line"] for r in rows}
    labelled = {r["class"] for r in rows}
    # A clip whose labels name only vehicles is a vehicle lane camera (see the data README).
    lane_class: ObjectClass | None = None
    if lane and labelled and not labelled & {"person", "bicycle"}:
        lane_class = sorted(labelled)[0]  # type: ignore[assignment]
    return CameraConfig(
        camera=Path(file).stem.replace(" ", "_"),
        lines=tuple(LineConfig.parse(f"{text}:{text}") for text in sorted(lines)),
        lane_class=lane_class,
        plates=False,
    )


def count_clip(
    path: Path, config: CameraConfig, detector: Detector, *, analysis_fps: float | None = None
) -> tuple[Counter[tuple[str, str, str]], int]:
    """(line, direction, class) crossings counted in one clip, and the frames read."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise DataError(f"无法打开视频 {path}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    pipeline = Pipeline(config, detector, frame_rate=analysis_fps or fps)
    counts: Counter[tuple[str, str, str]] = Counter()
    gate = RateGate(analysis_fps) if analysis_fps else None
    frames = 0
    for frame in _frames(capture):
        t = frames / fps
        frames += 1
        if gate is not None and not gate.admit(t):
            continue
        _tally(counts, pipeline.process(frame, t).events)
    capture.release()
    _tally(counts, pipeline.close())  # tracks that left over a border near the end of the file
    return counts, frames


def _tally(counts: Counter[tuple[str, str, str]], events: list[VisionEvent]) -> None:
    for event in events:
        if event.type == "line_cross":
            p = event.payload
            counts[(p["line"], p["direction"], p["class"])] += p["count"]


def _frames(capture: cv2.VideoCapture) -> Iterator[np.ndarray]:
    while True:
        ok, frame = capture.read()
        if not ok:
            return
        yield frame


def eval_count(
    folder: Path,
    detector_factory: Callable[[], Detector],
    *,
    lane: bool = True,
    analysis_fps: float | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Crossings per clip, line, direction and class against labels.csv (file,line,direction,class,count)."""
    rows = read_labels(folder, ("file", "line", "direction", "class", "count"))
    by_file: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_file.setdefault(row["file"], []).append(row)
    expected_total = counted_total = abs_error = correct = frames = false_crossings = missed = 0
    per_row: list[dict[str, Any]] = []
    per_clip: dict[str, dict[str, int]] = {}
    started = time.perf_counter()
    for i, (file, file_rows) in enumerate(sorted(by_file.items())):
        counts, n = count_clip(
            folder / file, count_config(file, file_rows, lane), detector_factory(), analysis_fps=analysis_fps
        )
        frames += n
        labelled_keys = set()
        for row in file_rows:
            expected = int(row["count"])
            got = counts.get((row["line"], row["direction"], row["class"]), 0)
            labelled_keys.add((row["line"], row["direction"], row["class"]))
            expected_total += expected
            counted_total += got
            abs_error += abs(got - expected)
            false_crossings += max(0, got - expected)
            missed += max(0, expected - got)
            correct += got == expected
            per_row.append({**row, "counted": got})
        # Crossings of classes the labels do not list are false counts too.
        for key, got in counts.items():
            if key not in labelled_keys:
                abs_error += got
                false_crossings += got
                counted_total += got
                per_row.append(
                    {
                        "file": file,
                        "line": key[0],
                        "direction": key[1],
                        "class": key[2],
                        "count": "0",
                        "counted": got,
                    }
                )
        clip_rows = [r for r in per_row if r["file"] == file]
        per_clip[file] = {
            "expected": sum(int(r["count"]) for r in clip_rows),
            "counted": sum(r["counted"] for r in clip_rows),
            "error": sum(abs(r["counted"] - int(r["count"])) for r in clip_rows),
        }
        if progress:
            progress(i + 1, len(by_file))
    seconds = time.perf_counter() - started
    summary = _summary(len(rows), correct, seconds)
    summary.update(
        expected_crossings=expected_total,
        counted_crossings=counted_total,
        error=round(abs_error / expected_total, 4) if expected_total else 0.0,
        # A false crossing is one counted beyond the labels (wrong direction, class or line, or none).
        false_crossings=false_crossings,
        missed_crossings=missed,
        clips=per_clip,
        ms_per_frame=round(1000 * seconds / frames, 1) if frames else 0.0,
        rows=per_row,
    )
    return summary
