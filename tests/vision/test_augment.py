"""Derived counting sets: labels follow mechanically from the transform, and the counter holds on them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
from typer.testing import CliRunner

from jiayuan.cli.main import app
from jiayuan.vision.augment import (
    SETS,
    Clip,
    augment,
    composite,
    mirror_line,
    read_clip,
    scale_line,
    write_clip,
)
from jiayuan.vision.detect import Detection, Frame
from jiayuan.vision.evaluate import eval_count

W, H, FPS = 320, 240, 10.0
LINE = "0,120,320,120"


class BrightBoxes:
    """A real (if simple) detector: every bright blob is a person."""

    name = "bright"

    def detect(self, frame: Frame) -> list[Detection]:
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        _, mask = cv2.threshold(grey, 60, 255, cv2.THRESH_BINARY)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        found = []
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            if w * h >= 400:
                found.append(Detection(box=(x, y, x + w, y + h), score=0.9, label="person"))
        return found


def person_walking_up(path: Path, x: int = 140) -> None:
    """A 40×60 white box that walks up from below the frame, across the line and out at the top."""
    frames = []
    for i in range(40):
        frame = np.zeros((H, W, 3), dtype=np.uint8)
        cy = 280 - 8 * i
        top, bottom = max(0, cy - 30), min(H, cy + 30)
        if bottom > top:
            frame[top:bottom, x : x + 40] = 255
        frames.append(frame)
    frames += [np.zeros((H, W, 3), dtype=np.uint8)] * 10
    write_clip(path, Clip(frames, FPS))


def source_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "count"
    folder.mkdir()
    person_walking_up(folder / "walk.mp4")
    with (folder / "labels.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "line", "direction", "class", "count"])
        writer.writerow(["walk.mp4", LINE, "in", "person", 1])
        writer.writerow(["walk.mp4", LINE, "out", "person", 0])
    return folder


def labels(folder: Path) -> list[tuple[str, str, str, str, str]]:
    with (folder / "labels.csv").open(encoding="utf-8", newline="") as handle:
        return [
            (r["file"], r["line"], r["direction"], r["class"], r["count"]) for r in csv.DictReader(handle)
        ]


def test_line_transforms_keep_the_meaning_of_in() -> None:
    # Mirrored left↔right the line's ends swap, so s keeps its sign on each side.
    assert mirror_line("600,432,600,0", 768) == "168,0,168,432"
    assert mirror_line("0,360,560,360", 768) == "208,360,768,360"
    assert scale_line("0,216,768,216", 640 / 768, 360 / 432) == "0,180,640,180"


def test_derived_sets_have_mechanical_labels_and_are_counted_right(tmp_path: Path) -> None:
    source = source_folder(tmp_path)
    out = tmp_path / "derived"
    manifest = augment(source, out, BrightBoxes)
    assert set(manifest["sets"]) == set(SETS)
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
    assert labels(out / "reverse") == [
        ("walk.mp4", LINE, "out", "person", "1"),
        ("walk.mp4", LINE, "in", "person", "0"),
    ]
    assert labels(out / "mirror")[0] == ("walk.mp4", LINE, "in", "person", "1")
    assert labels(out / "small")[0] == ("walk.mp4", "0,180,640,180", "in", "person", "1")
    assert read_clip(out / "small" / "walk.mp4").size == (640, 360)
    assert len(read_clip(out / "speed2x" / "walk.mp4").frames) == 25
    # The early clip starts 0.2–0.5 s before the crossing, with the person already in view.
    early = read_clip(out / "early" / "walk_x1.mp4")
    assert manifest["sets"]["early"]["clips"] == {"walk_x1.mp4": 1}
    assert 2 <= len(early.frames) - 15 <= 8 and early.frames[0].max() > 200
    for name in SETS:
        result = eval_count(out / name, BrightBoxes, analysis_fps=5)
        assert (name, result["error"], result["false_crossings"]) == (name, 0.0, 0)


def test_transforms_combine_left_to_right(tmp_path: Path) -> None:
    source = source_folder(tmp_path)
    out = tmp_path / "derived"
    manifest = augment(source, out, BrightBoxes, sets=("mirror+reverse+small",))
    assert list(manifest["sets"]) == ["mirror+reverse+small"]
    assert labels(out / "mirror+reverse+small") == [
        ("walk.mp4", "0,180,640,180", "out", "person", "1"),
        ("walk.mp4", "0,180,640,180", "in", "person", "0"),
    ]
    result = eval_count(out / "mirror+reverse+small", BrightBoxes, analysis_fps=5)
    assert (result["error"], result["false_crossings"]) == (0.0, 0)
    # A later run adds its sets to the manifest.
    assert set(augment(source, out, BrightBoxes, sets=("jpeg",))["sets"]) == {"mirror+reverse+small", "jpeg"}


def test_two_clips_of_one_scene_pasted_together_cross_both_ways(tmp_path: Path) -> None:
    source = source_folder(tmp_path)
    person_walking_up(source / "walk2.mp4", x=40)
    with (source / "labels.csv").open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(
            [["walk2.mp4", LINE, "in", "person", 1], ["walk2.mp4", LINE, "out", "person", 0]]
        )
    out = tmp_path / "derived"
    manifest = augment(source, out, BrightBoxes, sets=("both",))
    assert manifest["sets"]["both"]["clips"] == {"walk_with_walk2_back.mp4": 2, "walk2_with_walk_back.mp4": 2}
    assert labels(out / "both")[:2] == [
        ("walk_with_walk2_back.mp4", LINE, "in", "person", "1"),
        ("walk_with_walk2_back.mp4", LINE, "out", "person", "1"),
    ]
    result = eval_count(out / "both", BrightBoxes, analysis_fps=5)
    assert (result["error"], result["false_crossings"]) == (0.0, 0)


def test_pasting_keeps_the_base_clip_where_the_other_one_only_stood_still_or_changed_exposure() -> None:
    """Someone who stands in the other clip most of the time must not erase a walker when they step away."""
    spot = (slice(100, 160), slice(140, 180))

    def still(value: int) -> np.ndarray:
        return np.full((H, W, 3), value, dtype=np.uint8)

    other = []
    for i in range(40):
        frame = still(130 if i == 20 else 100)  # at 20 the stander is away and the camera brightens
        if i not in (0, 20, 39):
            frame[spot] = 20
        other.append(frame)
    walker = still(0)
    walker[spot] = 255
    base = [walker if i == 20 else still(0) for i in range(40)]
    pasted = composite(Clip(base, FPS), Clip(other, FPS)).frames
    assert (pasted[20][spot] == 255).all(), "the walker was erased"
    assert (pasted[10][spot] == 20).all(), "the one standing still was not pasted"
    assert (pasted[20][0:50, 0:50] == 0).all(), "the exposure change was pasted as a moving object"


def test_augment_refuses_an_unknown_set_and_a_folder_without_labels(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["vision", "augment", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "labels.csv" in result.output
    source = source_folder(tmp_path)
    for bad in ("upside", "early+night"):
        result = runner.invoke(
            app, ["vision", "augment", str(source), "--sets", bad, "--out", str(tmp_path / "o")]
        )
        assert result.exit_code == 2 and f"未知的派生集: {bad}" in result.output
    result = runner.invoke(app, ["vision", "eval", "robust", str(tmp_path), "--shared", str(source)])
    assert result.exit_code == 2 and "manifest.json" in result.output


def test_a_real_person_first_seen_just_before_the_entry_line_is_counted(
    data_dir: Path, tmp_path: Path
) -> None:
    # person_2 cut to start 0.2–0.5 s before each of its crossings, read by the packaged YOLOX-Nano
    # at 5 fps: walking in over the bottom edge straight across the entry line, and out at the right.
    from jiayuan.settings import PACKAGED_MODEL
    from jiayuan.vision.yolox import YoloxDetector

    source = tmp_path / "count"
    source.mkdir()
    with (data_dir / "count" / "labels.csv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["file"] == "person_2.mp4"]
    (source / "person_2.mp4").symlink_to(data_dir / "count" / "person_2.mp4")
    with (source / "labels.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    manifest = augment(source, tmp_path / "derived", lambda: YoloxDetector(PACKAGED_MODEL), sets=("early",))
    assert manifest["sets"]["early"]["clips"] == {"person_2_x1.mp4": 1, "person_2_x2.mp4": 1}
    result = eval_count(tmp_path / "derived" / "early", lambda: YoloxDetector(PACKAGED_MODEL), analysis_fps=5)
    assert (result["error"], result["false_crossings"]) == (0.0, 0), result["rows"]
