"""Demo feeds: worker command lines from a labelled clip folder, started and stopped together."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from jiayuan.vision.feed import clip_options, demo_commands, run_feeds


def test_clip_options_carry_the_labelled_lines_and_lane_class(data_dir: Path) -> None:
    options = dict(clip_options(data_dir / "count"))
    assert options[data_dir / "count" / "car_1.mp4"] == [
        "--line",
        "line1:0,216,768,216",
        "--lane-class",
        "car",
    ]
    assert options[data_dir / "count" / "person_1.mp4"] == [
        "--line", "line1:0,360,560,360", "--line", "line2:600,432,600,0",
    ]  # fmt: skip


def test_each_camera_gets_a_looping_clip(data_dir: Path) -> None:
    cameras = [f"g{i}-cam360" for i in range(8)]
    commands = demo_commands(cameras, data_dir / "count", prefix="demo")
    assert len(commands) == 8
    assert all(
        "--loop" in c and c[c.index("--camera") + 1] == cam for c, cam in zip(commands, cameras, strict=True)
    )
    assert commands[0][commands[0].index("--source") + 1] != commands[1][commands[1].index("--source") + 1]


def test_workers_get_the_broker_url_in_their_environment_not_their_command_line(
    data_dir: Path, tmp_path: Path
) -> None:
    url = "mqtt://jiayuan:s3cret@127.0.0.1:18831"
    commands = demo_commands(["g1-cam360"], data_dir / "count", prefix="demo")
    assert not any("s3cret" in part or part == "--mqtt" for part in commands[0])
    seen = tmp_path / "seen.txt"
    reader = [
        sys.executable,
        "-c",
        f"import os, pathlib; pathlib.Path({str(seen)!r}).write_text(os.environ['JIAYUAN_MQTT_URL'])",
    ]
    assert run_feeds([reader], threading.Event(), mqtt_url=url) == [0]
    assert seen.read_text() == url


def test_missing_labels_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"labels\.csv"):
        demo_commands(["c"], tmp_path, prefix="p")


def test_feeds_stop_together() -> None:
    stop = threading.Event()
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    timer = threading.Timer(2.0, stop.set)
    timer.start()
    codes = run_feeds([sleeper, sleeper], stop)
    assert len(codes) == 2 and all(code != 0 for code in codes)  # ended by SIGTERM


def test_demo_cameras_are_the_five_gates() -> None:
    from jiayuan.vision.feed import demo_cameras

    assert demo_cameras() == [
        "jjhy-gate1-cam360", "sh1-gate1-cam360", "sh2-gate1-cam360", "hyjy-gate1-cam360", "wy-gate1-cam360",
    ]  # fmt: skip


def test_background_feeds_need_a_broker(tmp_path: Path) -> None:
    from jiayuan.settings import Settings
    from jiayuan.vision.feed import start_in_background

    with pytest.raises(ValueError, match="MQTT"):
        start_in_background(Settings(mqtt_url=None))
