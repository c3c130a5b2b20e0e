"""Demo feeds: one worker process per gate camera, each playing a labelled clip in a loop."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from jiayuan.demo.layout import COMPOUNDS
from jiayuan.settings import Settings

SHARED_CLIPS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "count"


def demo_cameras() -> list[str]:
    """The 360° camera of every gate of the demo community (`jjhy-gate1-cam360`, …)."""
    return [f"{plan.code}-gate1-cam360" for plan in COMPOUNDS]


def clip_options(clips_dir: Path) -> list[tuple[Path, list[str]]]:
    """Every clip of a count folder with the worker options its labels imply (lines, lane class)."""
    labels = clips_dir / "labels.csv"
    if not labels.is_file():
        raise FileNotFoundError(f"{clips_dir} 中没有 labels.csv（视频片段与计数线）")
    lines: dict[str, list[str]] = {}
    classes: dict[str, set[str]] = {}
    with labels.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            found = lines.setdefault(row["file"], [])
            if row["line"] not in found:
                found.append(row["line"])
            classes.setdefault(row["file"], set()).add(row["class"])
    result = []
    for file in sorted(lines):
        options: list[str] = []
        for i, line in enumerate(lines[file], start=1):
            options += ["--line", f"line{i}:{line}"]
        vehicles = classes[file] - {"person", "bicycle"}
        if vehicles and vehicles == classes[file]:
            options += ["--lane-class", sorted(vehicles)[0]]
        result.append((clips_dir / file, options))
    return result


def demo_commands(cameras: list[str], clips_dir: Path, *, prefix: str, fps: float = 5.0) -> list[list[str]]:
    """The `jiayuan vision run` command line of each camera; clips are dealt out in turn.

    The broker URL is not among the arguments (it may carry a password, and any local user can read
    a command line): `run_feeds` hands it to the workers in their environment.
    """
    clips = clip_options(clips_dir)
    if not clips:
        raise FileNotFoundError(f"{clips_dir} 中没有视频片段")
    commands = []
    for i, camera in enumerate(cameras):
        clip, options = clips[i % len(clips)]
        run = ["vision", "run", "--camera", camera, "--source", str(clip), "--loop", "--fps", str(fps)]
        publish = ["--live-fps", "2", "--topic-prefix", prefix]
        commands.append([sys.executable, "-m", "jiayuan.cli.main", *run, *publish, *options])
    return commands


def run_feeds(commands: list[list[str]], stop: threading.Event, *, mqtt_url: str | None = None) -> list[int]:
    """Start every worker (with JIAYUAN_MQTT_URL = `mqtt_url`), wait for `stop`, then end them with
    SIGTERM; their exit codes."""
    env = {**os.environ, "JIAYUAN_MQTT_URL": mqtt_url} if mqtt_url else None
    # Their own process group: a Ctrl-C at the terminal reaches only the parent, which stops them in
    # order (a worker still importing would otherwise die with a KeyboardInterrupt traceback).
    processes = [subprocess.Popen(command, env=env, process_group=0) for command in commands]
    try:
        while not stop.wait(1.0):
            if all(p.poll() is not None for p in processes):
                break
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
    return [p.returncode for p in processes]


def start_in_background(
    settings: Settings,
    *,
    cameras: list[str] | None = None,
    clips: Path | None = None,
    fps: float = 5.0,
) -> Callable[[], None]:
    """Start a worker per camera (default: the demo gates) on looping clips; returns the stop function.

    Needs `settings.mqtt_url` (the embedded broker's URL in `jiayuan demo`). Raises
    FileNotFoundError when the clip folder or its labels.csv is missing.
    """
    if not settings.mqtt_url:
        raise ValueError("视频分析需要 MQTT（JIAYUAN_MQTT_URL）")
    commands = demo_commands(
        cameras or demo_cameras(),
        clips or SHARED_CLIPS,
        prefix=settings.mqtt_topic_prefix,
        fps=fps,
    )
    stop = threading.Event()
    thread = threading.Thread(
        target=run_feeds,
        args=(commands, stop),
        kwargs={"mqtt_url": settings.mqtt_url},
        name="jiayuan-vision-feeds",
        daemon=True,
    )
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=20)

    return halt
