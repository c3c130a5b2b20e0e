"""Derived plate sets: labels copied, banners added, each set reported on its own, junk counted."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jiayuan.cli.main import app
from jiayuan.vision import plate_sets
from jiayuan.vision.evaluate import DataError, imread
from jiayuan.vision.plate_sets import PLATE_SETS, augment_plates, wall


def small_plate_folder(data_dir: Path, tmp_path: Path) -> Path:
    """Two shared crops and one shared scene, with their labels."""
    keep = {"crops/lprnet_0001.jpg", "crops/hyperlpr_1.jpg", "scenes/scene_07.jpg"}
    folder = tmp_path / "plates"
    with (data_dir / "plates" / "labels.csv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["file"] in keep]
    for row in rows:
        (folder / row["file"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_dir / "plates" / row["file"], folder / row["file"])
    with (folder / "labels.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["file", "plate", "color"])
        writer.writeheader()
        writer.writerows(rows)
    return folder


def test_plate_sets_keep_the_labels_and_add_banners(data_dir: Path, tmp_path: Path) -> None:
    source = small_plate_folder(data_dir, tmp_path)
    out = tmp_path / "derived"
    manifest = augment_plates(source, out)
    assert manifest["kind"] == "plates" and set(manifest["sets"]) == set(PLATE_SETS)
    original = (source / "labels.csv").read_text(encoding="utf-8")
    for name in PLATE_SETS[:-1]:
        assert (out / name / "labels.csv").read_text(encoding="utf-8") == original
        for row in csv.DictReader(original.splitlines()):
            derived, plain = imread(out / name / row["file"]).shape, imread(source / row["file"]).shape
            # A turned plate gets a larger canvas, so that none of it is cut off.
            assert derived > plain if name == "tilt" else derived == plain
    with (out / "banner" / "labels.csv").open(encoding="utf-8", newline="") as handle:
        banner_rows = list(csv.DictReader(handle))
    # Six banners over the one scene (its label kept), and the six banners alone (no plate).
    assert [r["plate"] for r in banner_rows] == ["皖K66666"] * 6 + [""] * 6
    assert manifest["sets"]["banner"] == {**manifest["sets"]["banner"], "images": 12, "plates": 6}


def test_each_plate_set_is_reported_on_its_own_and_banners_publish_no_plate(
    data_dir: Path, tmp_path: Path
) -> None:
    source = small_plate_folder(data_dir, tmp_path)
    runner = CliRunner()
    out = tmp_path / "derived"
    result = runner.invoke(
        app, ["vision", "augment", str(source), "--out", str(out), "--sets", "tilt,banner"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["vision", "eval", "robust", str(out), "--shared", str(source), "--sets", "banner", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)["sets"]
    assert list(report) == ["shared", "banner"]
    assert report["shared"]["correct"] == 3
    assert report["banner"]["junk"] == 0 and report["banner"]["correct"] == 12


def test_a_missing_cjk_font_is_said_in_chinese(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(plate_sets, "FONT", tmp_path / "none.ttc")
    with pytest.raises(DataError, match=r"找不到中文字体.*fonts-noto-cjk"):
        wall(plate_sets.BANNERS[0])


def test_plate_augment_refuses_an_unknown_set(tmp_path: Path) -> None:
    folder = tmp_path / "plates"
    folder.mkdir()
    (folder / "labels.csv").write_text("file,plate,color\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["vision", "augment", str(folder), "--sets", "rain", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "未知的派生集: rain" in result.output
