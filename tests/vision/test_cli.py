"""`jiayuan vision`: bad input gets a clear message and exit code 2, never a traceback."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jiayuan.cli.main import app
from jiayuan.vision.detect import ModelError, make_detector
from tests.vision.conftest import PROJECT_ROOT

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


def _run_without_model(model: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`jiayuan vision run` in a fresh process whose JIAYUAN_VISION_MODEL_PATH is `model`."""
    env = {**os.environ, "JIAYUAN_VISION_MODEL_PATH": str(model), "PYTHONPATH": str(PROJECT_ROOT / "src")}
    command = [sys.executable, "-m", "jiayuan.cli.main", "vision", "run", "--camera", "c1"]
    command += ["--source", "x.mp4", "--mqtt", "mqtt://127.0.0.1:1", *extra]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_a_missing_model_stops_the_worker_with_what_to_do(tmp_path: Path) -> None:
    missing = tmp_path / "gone" / "yolox_nano.onnx"
    result = _run_without_model(missing)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    message = " ".join(result.stderr.split())
    assert "找不到检测模型文件" in message and str(missing) in message
    assert "JIAYUAN_VISION_MODEL_PATH" in message and "重新安装" in message


@pytest.mark.parametrize("broken", [False, True])
def test_a_missing_or_broken_plate_model_is_said_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_dir: Path, broken: bool
) -> None:
    from jiayuan.vision import recognisers

    model = tmp_path / "clp_v2_c_rec.onnx"
    if broken:
        model.write_bytes(b"not an onnx file")
    monkeypatch.setattr(recognisers, "PLATE_MODEL", model)
    result = CliRunner().invoke(app, ["vision", "eval", "plates", str(data_dir / "plates")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    message = " ".join(result.output.split())
    assert ("无法加载车牌识别模型" if broken else "找不到车牌识别模型") in message
    assert (str(model) if broken else f"在 {tmp_path} 找不到车牌识别模型 {model.name}") in message
    assert "重新安装" in message


def test_an_unreadable_model_stops_the_worker_too(tmp_path: Path) -> None:
    broken = tmp_path / "yolox_nano.onnx"
    broken.write_bytes(b"not an onnx file")
    result = _run_without_model(broken)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    message = " ".join(result.stderr.split())
    assert "无法加载检测模型文件" in message and str(broken) in message
    assert "JIAYUAN_VISION_MODEL_PATH" in message


def test_make_detector_has_no_weaker_stand_in(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="JIAYUAN_VISION_MODEL_PATH"):
        make_detector(tmp_path / "missing.onnx")
    assert importlib.util.find_spec("jiayuan.vision.fallback") is None


def test_the_fallback_detector_is_not_accepted(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["vision", "run", "--camera", "c1", "--source", "x.mp4", "--detector", "fallback"]
    )
    assert result.exit_code == 2 and "fallback" in result.output
    result = runner.invoke(app, ["vision", "eval", "count", str(tmp_path), "--detector", "fallback"])
    assert result.exit_code == 2 and "fallback" in result.output


def test_the_wheel_carries_the_models_beside_their_licence() -> None:
    """`jiayuan vision run` finds the models with no path set only if the wheel holds them (package-data)."""
    import tomllib

    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "vision/models/*" in project["tool"]["setuptools"]["package-data"]["jiayuan"]
    models = PROJECT_ROOT / "src" / "jiayuan" / "vision" / "models"
    shipped = {"yolox_nano.onnx", "clp_v2_c_rec.onnx", "clp_dict.txt", "LICENSE-Apache-2.0.txt", "README.md"}
    assert shipped <= {p.name for p in models.iterdir()}
