"""`jiayuan vision`: run a camera worker, and evaluate the vision code on labelled data."""

from __future__ import annotations

import csv
import json
import logging
import signal
import threading
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress

from jiayuan.cli.common import console, err_console, settings

app = typer.Typer(help="摄像机分析：计数、车牌、二维码。", no_args_is_help=True)
eval_app = typer.Typer(help="在带标签的数据上评估（见 shared/data/README.md）。", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


class DetectorChoice(StrEnum):
    """Which detector the worker uses (YOLOX-Nano only: a camera without its model stops with an error)."""

    yolox = "yolox"


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[red]{message}[/red]")
    return typer.Exit(2)


@app.command("run")
def run(
    camera: str = typer.Option(..., "--camera", help="摄像机（设备）编号，即 MQTT 设备 ID。"),
    source: str = typer.Option(..., "--source", help="rtsp:// 或 http://（MJPEG）地址，或视频文件。"),
    loop: bool = typer.Option(False, "--loop", help="视频文件播完后从头再播。"),
    config_file: Path | None = typer.Option(None, "--config", help="摄像机配置 JSON（计数线、区域、视角）。"),
    lines: list[str] = typer.Option([], "--line", help="计数线 名称:x1,y1,x2,y2（可多次）。"),
    zones: list[str] = typer.Option([], "--zone", help="区域 名称:x,y;x,y;x,y（可多次）。"),
    dewarp: str | None = typer.Option(None, "--dewarp", help="360° 画面类型: fisheye 或 panorama。"),
    view: str | None = typer.Option(None, "--view", help="朝向大门的视角 方位角,俯仰角,视场角（度）。"),
    lane_class: str | None = typer.Option(None, "--lane-class", help="车道摄像机：非行人目标都按此类计数。"),
    qr: bool = typer.Option(False, "--qr", help="识读出示的二维码通行证。"),
    detector: DetectorChoice = typer.Option(
        DetectorChoice.yolox, "--detector", help="检测器（只有 YOLOX-Nano：缺模型文件时报错退出）。"
    ),
    mqtt_url: str | None = typer.Option(None, "--mqtt", help="MQTT 地址（默认 JIAYUAN_MQTT_URL）。"),
    prefix: str | None = typer.Option(
        None, "--topic-prefix", help="主题前缀（默认 JIAYUAN_MQTT_TOPIC_PREFIX）。"
    ),
    token: str | None = typer.Option(
        None, "--token", envvar="JIAYUAN_DEVICE_TOKEN", help="设备令牌（MQTT 密码）。"
    ),
    fps: float = typer.Option(10.0, "--fps", min=0.5, max=60, help="每秒分析的帧数。"),
    live_fps: float = typer.Option(2.0, "--live-fps", min=0, max=15, help="实时画面每秒帧数（0 关闭）。"),
    realtime: bool = typer.Option(True, "--realtime/--fast", help="视频文件按原速播放。"),
) -> None:
    """Analyse one camera and publish its events over MQTT until stopped (SIGTERM or Ctrl-C)."""
    from pydantic import ValidationError

    from jiayuan.vision.capture import FrameSource
    from jiayuan.vision.config import (
        CameraConfig,
        ConfigError,
        DewarpConfig,
        LineConfig,
        ZoneConfig,
        describe,
    )
    from jiayuan.vision.detect import ModelError, make_detector
    from jiayuan.vision.health import HealthMonitor
    from jiayuan.vision.pipeline import Pipeline
    from jiayuan.vision.plates import PlateReader
    from jiayuan.vision.publish import Publisher, redacted
    from jiayuan.vision.worker import run_camera

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config_settings = settings()
    try:
        base: dict[str, Any] = (
            CameraConfig.load(config_file).model_dump() if config_file else {"camera": camera}
        )
        base["camera"] = camera
        if lines:
            base["lines"] = [LineConfig.parse(text) for text in lines]
        if zones:
            base["zones"] = [ZoneConfig.parse(text) for text in zones]
        if dewarp or view:
            base["dewarp"] = DewarpConfig.parse_view(dewarp or "fisheye", view or "0,45,90")
        if lane_class:
            base["lane_class"] = lane_class
        if qr:
            base["qr"] = True
        config = CameraConfig.model_validate(base)
    except ConfigError as exc:
        raise _fail(str(exc)) from exc
    except ValidationError as exc:
        raise _fail(describe(exc, "命令行")) from exc
    try:
        found = make_detector(config_settings.vision_model_path)
    except ModelError as exc:
        raise _fail(str(exc)) from exc
    url = mqtt_url or config_settings.mqtt_url or "mqtt://127.0.0.1:1883"
    stop = threading.Event()
    health = HealthMonitor(fps)
    try:
        publisher = Publisher(url, camera, prefix=prefix or config_settings.mqtt_topic_prefix, token=token)
        frames = FrameSource(
            source,
            loop=loop,
            realtime=realtime,
            on_offline=lambda: publisher.status("offline"),
            on_online=lambda: publisher.status("online"),
            on_reconnect=health.reconnected,
        )
    except (ValueError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from exc
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if not publisher.start():
        err_console.print(f"[yellow]MQTT 代理 {redacted(url)} 暂未连上，事件将排队并自动重连。[/yellow]")
    plate_reader = None
    if config.plates and config.lines:
        try:
            plate_reader = PlateReader()
        except Exception as exc:  # the OCR models failed to load: count on, and say plates are off
            logging.getLogger(__name__).exception("camera %s: plate reader not loaded", camera)
            # A missing or broken shipped model says what to do.
            reason = str(exc) if isinstance(exc, ModelError) else type(exc).__name__
            health.feature_off("plates_off", f"车牌识别模型加载失败，不识别车牌（{reason}）")
    pipeline = Pipeline(config, found, frame_rate=fps, plate_reader=plate_reader)
    console.print(
        f"摄像机 {camera}: 检测器 {found.name}，来源 {source}，MQTT {redacted(url)}", soft_wrap=True
    )
    try:
        stats = run_camera(
            frames, pipeline, publisher, stop, analysis_fps=fps, live_fps=live_fps, health=health
        )
    finally:
        publisher.stop()
    console.print(
        f"已停止：读取 {stats.frames} 帧，分析 {stats.analysed} 帧（每秒 {stats.analysis_fps:.2f} 帧），"
        f"发布 {stats.events} 个事件。",
        soft_wrap=True,
    )


@app.command("demo")
def demo(
    clips: Path = typer.Option(None, "--clips", help="计数视频目录（默认 ../shared/data/count）。"),
    cameras: str | None = typer.Option(
        None, "--cameras", help="摄像机编号，逗号分隔（默认演示社区五个门岗）。"
    ),
    mqtt_url: str | None = typer.Option(None, "--mqtt", help="MQTT 地址（默认 JIAYUAN_MQTT_URL）。"),
    prefix: str | None = typer.Option(
        None, "--topic-prefix", help="主题前缀（默认 JIAYUAN_MQTT_TOPIC_PREFIX）。"
    ),
    fps: float = typer.Option(5.0, "--fps", min=0.5, max=30, help="每台摄像机每秒分析的帧数。"),
) -> None:
    """Run one worker per demo gate camera on looping clips until stopped (SIGTERM or Ctrl-C)."""
    from jiayuan.vision.feed import SHARED_CLIPS, demo_cameras, demo_commands, run_feeds
    from jiayuan.vision.publish import redacted

    config_settings = settings()
    ids = [c.strip() for c in cameras.split(",") if c.strip()] if cameras else demo_cameras()
    folder = clips or SHARED_CLIPS
    url = mqtt_url or config_settings.mqtt_url or "mqtt://127.0.0.1:1883"
    try:
        commands = demo_commands(ids, folder, prefix=prefix or config_settings.mqtt_topic_prefix, fps=fps)
    except FileNotFoundError as exc:
        raise _fail(str(exc)) from exc
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    console.print(
        f"启动 {len(commands)} 个摄像机分析进程（{', '.join(ids)}），MQTT {redacted(url)}", soft_wrap=True
    )
    codes = run_feeds(commands, stop, mqtt_url=url)
    console.print(f"已停止，退出码 {codes}", soft_wrap=True)


def _print(result: dict[str, Any], as_json: bool, keep: tuple[str, ...] = ()) -> None:
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    for key, value in result.items():
        if key not in ("misses", "rows") or key in keep:
            console.print(f"{key}: {value}")


def _folder(directory: Path) -> Path:
    if not directory.is_dir():
        raise _fail(f"数据目录不存在: {directory}")
    return directory


def _run_with_progress(label: str, work: Any, as_json: bool) -> dict[str, Any]:
    from jiayuan.vision.detect import ModelError
    from jiayuan.vision.evaluate import DataError

    with Progress(console=err_console, transient=True, disable=as_json) as progress:
        task = progress.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            result: dict[str, Any] = work(advance)
        except (DataError, ModelError) as exc:
            raise _fail(str(exc)) from exc
    return result


@eval_app.command("plates")
def eval_plates(
    directory: Path = typer.Argument(..., help="车牌数据目录（labels.csv: file,plate,color）。"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON。"),
    threads: int = typer.Option(1, "--threads", min=1, max=8, help="OCR 线程数。"),
) -> None:
    """Read every plate image and compare with the labels (exact text, and colour)."""
    from jiayuan.vision.evaluate import eval_plates as evaluate

    folder = _folder(directory)
    _print(
        _run_with_progress("车牌", lambda p: evaluate(folder, threads=threads, progress=p), as_json), as_json
    )


@eval_app.command("qr")
def eval_qr(
    directory: Path = typer.Argument(..., help="二维码数据目录（labels.csv: file,text）。"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON。"),
) -> None:
    """Decode every QR image and compare with the labels; zxing-cpp alone is reported beside."""
    from jiayuan.vision.evaluate import eval_qr as evaluate

    folder = _folder(directory)
    _print(_run_with_progress("二维码", lambda p: evaluate(folder, progress=p), as_json), as_json)


@eval_app.command("count")
def eval_count(
    directory: Path = typer.Argument(
        ..., help="计数视频目录（labels.csv: file,line,direction,class,count）。"
    ),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON。"),
    detector: DetectorChoice = typer.Option(
        DetectorChoice.yolox, "--detector", help="检测器（只有 YOLOX-Nano：缺模型文件时报错退出）。"
    ),
    lane: bool = typer.Option(True, "--lane/--no-lane", help="只标注车辆的片段按车道摄像机配置。"),
    fps: float | None = typer.Option(None, "--fps", min=0.5, max=60, help="分析帧率（默认全部帧）。"),
) -> None:
    """Count line crossings in every clip and compare with the labels; the error is |counted−true|/true."""
    from jiayuan.vision.detect import ModelError, make_detector
    from jiayuan.vision.evaluate import eval_count as evaluate

    folder = _folder(directory)
    model = settings().vision_model_path
    try:
        name = make_detector(model).name
    except ModelError as exc:
        raise _fail(str(exc)) from exc
    result = _run_with_progress(
        "计数",
        lambda p: evaluate(folder, lambda: make_detector(model), lane=lane, analysis_fps=fps, progress=p),
        as_json,
    )
    _print({"detector": name, **result}, as_json)


@eval_app.command("robust")
def eval_robust(
    derived: Path = typer.Argument(..., help="`jiayuan vision augment` 的输出目录（含 manifest.json）。"),
    shared: Path = typer.Option(..., "--shared", help="原始数据目录：计数视频或车牌（也单独报告）。"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON。"),
    fps: float | None = typer.Option(None, "--fps", min=0.5, max=60, help="分析帧率（默认全部帧）。"),
    sets: str | None = typer.Option(None, "--sets", help="只评估这些派生集，逗号分隔（默认清单中的全部）。"),
) -> None:
    """Count (or read plates) on the shared set and on every derived set, each reported on its own."""
    from jiayuan.vision.detect import ModelError, make_detector
    from jiayuan.vision.evaluate import eval_count as evaluate

    manifest_path = _folder(derived) / "manifest.json"
    if not manifest_path.is_file():
        raise _fail(f"{derived} 中没有 manifest.json（先运行 jiayuan vision augment）")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    listed = list(manifest.get("sets", {}))
    chosen = [s.strip() for s in sets.split(",") if s.strip()] if sets else listed
    unknown = [s for s in chosen if s not in listed]
    if unknown:
        raise _fail(f"清单中没有这些派生集: {', '.join(unknown)}")
    if manifest.get("kind") == "plates":
        _eval_plate_sets(_folder(shared), derived, chosen, as_json)
        return
    model = settings().vision_model_path
    try:
        make_detector(model)
    except ModelError as exc:
        raise _fail(str(exc)) from exc
    folders = {"shared": _folder(shared), **{name: derived / name for name in chosen}}
    report: dict[str, Any] = {"fps": fps, "sets": {}}
    for name, folder in folders.items():
        result = _run_with_progress(
            name,
            lambda p, folder=folder: evaluate(
                folder, lambda: make_detector(model), analysis_fps=fps, progress=p
            ),
            as_json,
        )
        keep = ("expected_crossings", "counted_crossings", "error", "false_crossings", "missed_crossings")
        report["sets"][name] = {**{k: result[k] for k in keep}, "clips": result["clips"]}
        if not as_json:
            figures = ", ".join(f"{k}={result[k]}" for k in keep)
            console.print(f"{name}: {figures}")
            for clip, row in result["clips"].items():
                if row["error"]:
                    console.print(f"  {clip}: 应 {row['expected']}，计 {row['counted']}，误差 {row['error']}")
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))


def _eval_plate_sets(shared: Path, derived: Path, chosen: list[str], as_json: bool) -> None:
    """Plates on the shared set and on every derived plate set, each reported on its own."""
    from jiayuan.vision.evaluate import eval_plates as evaluate

    folders = {"shared": shared, **{name: derived / name for name in chosen}}
    report: dict[str, Any] = {"sets": {}}
    keep = ("total", "correct", "rate", "junk", "unreadable", "splits", "ms_per_item")
    for name, folder in folders.items():
        result = _run_with_progress(name, lambda p, folder=folder: evaluate(folder, progress=p), as_json)
        report["sets"][name] = {**{k: result[k] for k in keep}, "misses": result["misses"]}
        if not as_json:
            console.print(f"{name}: " + ", ".join(f"{k}={result[k]}" for k in keep), soft_wrap=True)
            for miss in result["misses"]:
                console.print(
                    f"  {miss['file']}: 应 {miss['expected'] or '（无车牌）'}，读 {miss['read'] or '（无）'}"
                )
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))


@app.command("augment")
def augment(
    directory: Path = typer.Argument(
        ...,
        help="原始数据目录：计数视频（labels.csv: file,line,direction,class,count）"
        "或车牌（labels.csv: file,plate,color）。",
    ),
    out: Path = typer.Option(
        Path("var/vision-robust"), "--out", help="派生数据集输出目录（不要放在代码库里）。"
    ),
    sets: str | None = typer.Option(
        None,
        "--sets",
        help="只生成这些派生集，逗号分隔（计数可用 + 连接组合，如 mirror+night；默认全部单项）。",
    ),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON。"),
) -> None:
    """Derive labelled robustness sets from counting clips or plate images (folders and manifest.json)."""
    from jiayuan.vision.augment import SETS
    from jiayuan.vision.augment import augment as derive
    from jiayuan.vision.detect import ModelError, make_detector
    from jiayuan.vision.plate_sets import PLATE_SETS, augment_plates

    folder = _folder(directory)
    chosen = tuple(s.strip() for s in sets.split(",") if s.strip()) if sets else None
    if _is_plate_folder(folder):
        manifest = _run_with_progress(
            "生成", lambda p: augment_plates(folder, out, sets=chosen or PLATE_SETS, progress=p), as_json
        )
        if as_json:
            typer.echo(json.dumps(manifest, ensure_ascii=False))
            return
        for name, info in manifest["sets"].items():
            console.print(f"{name}（{info['description']}）: {info['images']} 张图, {info['plates']} 块车牌")
        console.print(f"清单: {out / 'manifest.json'}")
        return
    model = settings().vision_model_path
    try:
        make_detector(model)
    except ModelError as exc:
        raise _fail(str(exc)) from exc
    manifest = _run_with_progress(
        "生成",
        lambda p: derive(folder, out, lambda: make_detector(model), sets=chosen or SETS, progress=p),
        as_json,
    )
    if as_json:
        typer.echo(json.dumps(manifest, ensure_ascii=False))
        return
    for name, info in manifest["sets"].items():
        console.print(f"{name}（{info['description']}）: {len(info['clips'])} 段, {info['crossings']} 次越线")
        for reason in info["skipped"]:
            console.print(f"  跳过 {reason}")
    console.print(f"清单: {out / 'manifest.json'}")


def _is_plate_folder(folder: Path) -> bool:
    """Whether labels.csv is a plate set's (`file,plate,color`); other folders are read as counting sets."""
    path = folder / "labels.csv"
    if not path.is_file():
        return False
    with path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle), [])
    return "plate" in header
