"""`jiayuan vision`: bad input gets a clear message and exit code 2, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from jiayuan.cli.main import app

runner = CliRunner()


def test_run_refuses_a_bad_line() -> None:
    result = runner.invoke(
        app, ["vision", "run", "--camera", "c1", "--source", "x.mp4", "--line", "gate:1,2,3"]
    )
    assert result.exit_code == 2
    assert "计数线格式" in result.output


def test_run_refuses_a_missing_file() -> None:
    result = runner.invoke(
        app,
        ["vision", "run", "--camera", "c1", "--source", "/nonexistent.mp4", "--mqtt", "mqtt://127.0.0.1:1"],
    )
    assert result.exit_code == 2
    assert "找不到视频文件" in result.output


def test_run_refuses_a_bad_camera_id_and_config_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["vision", "run", "--camera", "bad id!", "--source", "x.mp4"])
    assert result.exit_code == 2 and "camera" in result.output
    config = tmp_path / "cam.json"
    config.write_text(json.dumps({"camera": "c1", "lines": [{"name": "g", "x1": 0, "y1": 0, "x2": 1}]}))
    result = runner.invoke(
        app, ["vision", "run", "--camera", "c1", "--source", "x.mp4", "--config", str(config)]
    )
    assert result.exit_code == 2 and "lines.0.y2" in result.output


def test_eval_refuses_a_folder_without_labels(tmp_path: Path) -> None:
    result = runner.invoke(app, ["vision", "eval", "qr", str(tmp_path), "--json"])
    assert result.exit_code == 2 and "labels.csv" in result.output
    (tmp_path / "labels.csv").write_text("file,wrong\n")
    result = runner.invoke(app, ["vision", "eval", "qr", str(tmp_path), "--json"])
    assert result.exit_code == 2 and "text" in result.output
    result = runner.invoke(app, ["vision", "eval", "count", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "数据目录不存在" in result.output


def test_eval_qr_on_a_small_folder_prints_the_figures(tmp_path: Path) -> None:
    import segno

    segno.make("hello gate", error="m").save(str(tmp_path / "a.png"), scale=6)
    (tmp_path / "labels.csv").write_text("file,text\na.png,hello gate\n", encoding="utf-8")
    result = runner.invoke(app, ["vision", "eval", "qr", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["total"] == 1 and figures["correct"] == 1 and figures["rate"] == 1.0
    assert figures["zxing_cpp_alone"]["correct"] == 1
