"""Derived counting sets for robustness: the shared clips transformed, labels computed from the originals.

Every derived clip's labels follow mechanically from the original labels and the transform: a mirror
keeps the directions (the line is mirrored and its ends swapped), playing backwards swaps in and out,
speed, scale and image degradations keep the counts. Trimming needs to know *when* each crossing
happens: that comes from a reference run of the pipeline on the original clip at every frame, used
only for a clip whose reference counts equal its hand-made labels exactly.
"""

from __future__ import annotations

import csv
import itertools
import json
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from jiayuan.vision.detect import Detector
from jiayuan.vision.evaluate import DataError, count_config, read_labels
from jiayuan.vision.pipeline import Pipeline

Frame = np.ndarray
LABEL_COLUMNS = ("file", "line", "direction", "class", "count")
# Each trimmed clip starts this long before its crossing (cycled through, so the set covers the range).
TRIM_LEADS = (0.2, 0.3, 0.4, 0.5)
TRIM_AFTER = 1.5  # seconds kept after the crossing, so the track settles on the far side
TRIM_CLEAR = 0.3  # another crossing this close to a cut makes the clip ambiguous: it is left out
SETS = ("early", "mirror", "reverse", "speed2x", "small", "jpeg", "night", "both")
DESCRIPTIONS = {
    "early": "每次越线前 0.2–0.5 秒才出现（从越线前截取）",
    "mirror": "左右镜像（计数线随之镜像）",
    "reverse": "倒放（进出方向互换）",
    "speed2x": "两倍速（隔帧取帧）",
    "small": "缩小到 640×360",
    "jpeg": "JPEG 质量 15 压缩",
    "night": "变暗（伽马 2.2、亮度 ×0.5）并加噪声",
    "both": "同一场景两两叠加（其一倒放）：同时有人双向越线",
}


@dataclass(frozen=True)
class Clip:
    """A video read into memory."""

    frames: list[Frame]
    fps: float

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        h, w = self.frames[0].shape[:2]
        return w, h


@dataclass(frozen=True)
class Timed:
    """A crossing found by the reference run: line text, direction, class and time (seconds)."""

    line: str
    direction: str
    label: str
    at: float


def read_clip(path: Path) -> Clip:
    """All frames of a video file."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise DataError(f"无法打开视频 {path}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    frames: list[Frame] = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    if not frames:
        raise DataError(f"视频 {path} 没有可读的帧")
    return Clip(frames, fps)


def write_clip(path: Path, clip: Clip) -> None:
    """Write frames as MPEG-4 Part 2 (.mp4), like the shared clips."""
    w, h = clip.size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), clip.fps, (w, h))
    if not writer.isOpened():
        raise DataError(f"无法写入视频 {path}")
    for frame in clip.frames:
        writer.write(frame)
    writer.release()


def parse_line(text: str) -> tuple[float, float, float, float]:
    """`x1,y1,x2,y2` as numbers."""
    x1, y1, x2, y2 = (float(v) for v in text.split(","))
    return x1, y1, x2, y2


def line_text(x1: float, y1: float, x2: float, y2: float) -> str:
    """A line as labels.csv writes it (integers when whole)."""
    return ",".join(f"{v:g}" for v in (round(x1, 2), round(y1, 2), round(x2, 2), round(y2, 2)))


def mirror_line(text: str, width: int) -> str:
    """The line in the mirrored frame, ends swapped so that `in` keeps its meaning."""
    x1, y1, x2, y2 = parse_line(text)
    return line_text(width - x2, y2, width - x1, y1)


def scale_line(text: str, fx: float, fy: float) -> str:
    """The line in a resized frame."""
    x1, y1, x2, y2 = parse_line(text)
    return line_text(x1 * fx, y1 * fy, x2 * fx, y2 * fy)


SWAP = {"in": "out", "out": "in"}


def _rows(
    file: str, rows: list[dict[str, str]], line: Callable[[str], str], swap: bool
) -> list[dict[str, str]]:
    return [
        {
            "file": file,
            "line": line(r["line"]),
            "direction": SWAP[r["direction"]] if swap else r["direction"],
            "class": r["class"],
            "count": r["count"],
        }
        for r in rows
    ]


def _seed(*parts: str) -> int:
    return zlib.crc32("/".join(parts).encode())


def _jpeg(frame: Frame, quality: int = 15) -> Frame:
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:
        raise DataError("JPEG 编解码失败")
    return decoded


def _night(frames: list[Frame], seed: int) -> list[Frame]:
    rng = np.random.default_rng(seed)
    table = (np.linspace(0, 1, 256) ** 2.2 * 0.5 * 255).astype(np.uint8)
    out = []
    for frame in frames:
        dark = cv2.LUT(frame, table).astype(np.int16)
        noise = rng.normal(0, 6, (*frame.shape[:2], 1)).astype(np.int16)  # luminance noise, like a sensor
        out.append(np.clip(dark + noise, 0, 255).astype(np.uint8))
    return out


def _combination(name: str) -> bool:
    """Whether a set name is whole-clip transforms joined by `+` (applied left to right)."""
    parts = name.split("+")
    return len(parts) > 1 and all(p in SETS and p not in ("early", "both") for p in parts)


def transform(
    name: str, file: str, clip: Clip, rows: list[dict[str, str]]
) -> tuple[Clip, list[dict[str, str]]]:
    """One whole-clip transform (every set but `early`), or several joined by `+`, and its labels."""
    if _combination(name):
        for part in name.split("+"):
            clip, rows = transform(part, file, clip, rows)
        return clip, rows
    w, h = clip.size
    keep = _rows(file, rows, lambda text: text, swap=False)
    if name == "mirror":
        return Clip([cv2.flip(f, 1) for f in clip.frames], clip.fps), _rows(
            file, rows, lambda text: mirror_line(text, w), swap=False
        )
    if name == "reverse":
        return Clip(clip.frames[::-1], clip.fps), _rows(file, rows, lambda text: text, swap=True)
    if name == "speed2x":
        return Clip(clip.frames[::2], clip.fps), keep
    if name == "small":
        fx, fy = 640 / w, 360 / h
        frames = [cv2.resize(f, (640, 360), interpolation=cv2.INTER_AREA) for f in clip.frames]
        return Clip(frames, clip.fps), _rows(file, rows, lambda text: scale_line(text, fx, fy), swap=False)
    if name == "jpeg":
        return Clip([_jpeg(f) for f in clip.frames], clip.fps), keep
    if name == "night":
        return Clip(_night(clip.frames, _seed(name, file)), clip.fps), keep
    raise ValueError(f"未知的派生集 {name}")


def composite(base: Clip, other: Clip) -> Clip:
    """`other`'s moving objects pasted onto `base` (same camera and scene), frame by frame.

    Both clips start and end with nobody in view, so `other`'s first and last frames are its empty
    scene: what differs from both is a moving object. (A median of its frames would hold a person who
    stands still for most of the clip, and pasting the difference would erase `base`'s walkers.) The
    camera's exposure drifts with what is in view, so each empty frame is first brought to the frame's
    exposure. The shorter clip is continued with its last frame.
    """
    empty = (other.frames[0].astype(np.float32), other.frames[-1].astype(np.float32))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    frames = []
    for i in range(max(len(base.frames), len(other.frames))):
        a = base.frames[min(i, len(base.frames) - 1)]
        b = other.frames[min(i, len(other.frames) - 1)]
        diff = np.minimum(*(_exposure_difference(b, scene) for scene in empty))
        closed = cv2.morphologyEx((diff > 60).astype(np.uint8), cv2.MORPH_CLOSE, kernel)
        moving = cv2.dilate(closed, kernel) > 0
        frames.append(np.where(moving[..., None], b, a))
    return Clip(frames, base.fps)


def _exposure_difference(frame: np.ndarray, scene: np.ndarray) -> np.ndarray:
    """Per-pixel difference (summed over channels) from the scene brought to the frame's exposure.

    The gain is the median per-pixel ratio, which a person covering less than half the view does not move.
    """
    pixels = frame.astype(np.float32)
    gain = np.median((pixels + 1) / (scene + 1), axis=(0, 1))
    difference: np.ndarray = np.abs(pixels - scene * gain).sum(axis=2)
    return difference


def composites(
    source: Path, by_file: dict[str, list[dict[str, str]]]
) -> Iterator[tuple[str, Clip, list[dict[str, str]]]]:
    """Each clip that labels only people, with every other such clip played backwards pasted in."""
    people = sorted(f for f, rows in by_file.items() if {r["class"] for r in rows} == {"person"})
    for file, partner in itertools.permutations(people, 2):
        rows, partner_rows = by_file[file], by_file[partner]
        if {r["line"] for r in rows} != {r["line"] for r in partner_rows}:
            continue  # only clips of the same scene (same lines) are pasted together
        back = Clip(read_clip(source / partner).frames[::-1], 0.0)
        counts = _key_counts(rows) + _key_counts(_rows(file, partner_rows, lambda text: text, swap=True))
        name = f"{Path(file).stem}_with_{Path(partner).stem}_back.mp4"
        out_rows = [
            {**r, "file": name, "count": str(counts.get((r["line"], r["direction"], r["class"]), 0))}
            for r in rows
        ]
        yield name, composite(read_clip(source / file), back), out_rows


def reference_crossings(clip: Clip, file: str, rows: list[dict[str, str]], detector: Detector) -> list[Timed]:
    """The crossings the pipeline finds in the original clip at every frame, with their times."""
    pipeline = Pipeline(count_config(file, rows, lane=True), detector, frame_rate=clip.fps)
    found: list[Timed] = []
    for i, frame in enumerate(clip.frames):
        # count_config names each line by its labels.csv text.
        found.extend(
            Timed(c.line, c.direction, c.label, c.at) for c in pipeline.process(frame, i / clip.fps).crossings
        )
    pipeline.close()
    return found


def _key_counts(rows: list[dict[str, str]]) -> Counter[tuple[str, str, str]]:
    return Counter({(r["line"], r["direction"], r["class"]): int(r["count"]) for r in rows})


def trim(
    file: str, clip: Clip, rows: list[dict[str, str]], found: list[Timed]
) -> Iterator[tuple[str, Clip, list[dict[str, str]]]]:
    """Clips cut to start shortly before each crossing, with the crossings each holds."""
    stem = Path(file).stem
    duration = len(clip.frames) / clip.fps
    for i, crossing in enumerate(sorted(found, key=lambda c: c.at)):
        lead = TRIM_LEADS[_seed(file, str(i)) % len(TRIM_LEADS)]
        # The counted observation is the first one past the line: the line itself was crossed
        # up to one frame earlier, so the cut is measured from half a frame before it.
        start = max(0.0, crossing.at - 0.5 / clip.fps - lead)
        end = min(duration, crossing.at + TRIM_AFTER)
        others = [c for c in found if c is not crossing]
        if any(abs(c.at - start) < TRIM_CLEAR or abs(c.at - end) < TRIM_CLEAR for c in others):
            continue
        held = [c for c in found if start < c.at <= end]
        counts = Counter((c.line, c.direction, c.label) for c in held)
        first, last = round(start * clip.fps), round(end * clip.fps)
        name = f"{stem}_x{i + 1}.mp4"
        out_rows = [
            {
                "file": name,
                "line": r["line"],
                "direction": r["direction"],
                "class": r["class"],
                "count": str(counts.get((r["line"], r["direction"], r["class"]), 0)),
            }
            for r in rows
        ]
        yield name, Clip(clip.frames[first:last], clip.fps), out_rows


def augment(
    source: Path,
    output: Path,
    detector_factory: Callable[[], Detector],
    *,
    sets: tuple[str, ...] = SETS,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write every derived set under `output` (one folder per set, each with labels.csv) and manifest.json."""
    unknown = [s for s in sets if s not in SETS and not _combination(s)]
    if unknown:
        raise DataError(
            f"未知的派生集: {', '.join(unknown)}（可选 {', '.join(SETS)}，"
            "或用 + 连接除 early 外的几种，如 mirror+night）"
        )
    rows = read_labels(source, LABEL_COLUMNS)
    by_file: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_file.setdefault(row["file"], []).append(row)
    labels: dict[str, list[dict[str, str]]] = {name: [] for name in sets}
    skipped: dict[str, list[str]] = {name: [] for name in sets}
    for name in sets:
        (output / name).mkdir(parents=True, exist_ok=True)
    if "both" in sets:
        for out_name, clip, out_rows in composites(source, by_file):
            write_clip(output / "both" / out_name, clip)
            labels["both"].extend(out_rows)
    per_clip = [name for name in sets if name != "both"]
    for n, (file, file_rows) in enumerate(sorted(by_file.items()) if per_clip else []):
        clip = read_clip(source / file)
        for name in per_clip:
            if name == "early":
                found = reference_crossings(clip, file, file_rows, detector_factory())
                reference = Counter((c.line, c.direction, c.label) for c in found)
                if +reference != +_key_counts(file_rows):
                    skipped[name].append(f"{file}: 参考计数与标签不符，无法定出越线时刻")
                    continue
                for out_name, part, out_rows in trim(file, clip, file_rows, found):
                    write_clip(output / name / out_name, part)
                    labels[name].extend(out_rows)
                continue
            derived, out_rows = transform(name, file, clip, file_rows)
            write_clip(output / name / file, derived)
            labels[name].extend(out_rows)
        if progress:
            progress(n + 1, len(by_file))
    path = output / "manifest.json"
    manifest: dict[str, Any] = {"source": str(source), "sets": {}}
    if path.is_file():  # sets made before and not remade now stay listed
        manifest["sets"] = json.loads(path.read_text(encoding="utf-8")).get("sets", {})
    for name in sets:
        with (output / name / "labels.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=LABEL_COLUMNS)
            writer.writeheader()
            writer.writerows(labels[name])
        expected: dict[str, int] = Counter()
        for r in labels[name]:
            expected[r["file"]] += int(r["count"])
        manifest["sets"][name] = {
            "description": " + ".join(DESCRIPTIONS[part] for part in name.split("+")),
            "clips": dict(sorted(expected.items())),
            "crossings": sum(expected.values()),
            "skipped": skipped[name],
        }
    (output / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return manifest
