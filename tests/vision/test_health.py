"""A camera worker judges its own health: the analysis rate it keeps, its source, its models."""

from __future__ import annotations

import json
import threading
import time

from jiayuan.devices.decode import Limits, Status, decode_status
from jiayuan.devices.protocol import HEALTH_TEXT_MAX, HealthReason
from jiayuan.vision.annotate import captured_at, stamp
from jiayuan.vision.health import HealthMonitor
from jiayuan.vision.worker import _watch_health


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run_at(monitor: HealthMonitor, clock: Clock, fps: float, seconds: float) -> None:
    """Analyse frames at `fps` for `seconds` of the fake clock."""
    for _ in range(round(fps * seconds)):
        clock.now += 1 / fps
        monitor.analysed()


def test_a_worker_that_keeps_its_rate_is_well() -> None:
    clock = Clock()
    monitor = HealthMonitor(5.0, clock=clock)
    run_at(monitor, clock, 5.0, 60)
    assert monitor.kept_fps() is not None and abs(monitor.kept_fps() - 5.0) < 0.1  # type: ignore[operator]
    assert monitor.reasons() == []


def test_falling_short_of_the_rate_is_degraded_with_the_figures() -> None:
    clock = Clock()
    monitor = HealthMonitor(5.0, clock=clock)
    run_at(monitor, clock, 2.0, 20)
    assert monitor.kept_fps() is None and monitor.reasons() == []  # start-up is not judged
    run_at(monitor, clock, 2.0, 20)
    reasons = monitor.reasons()
    assert [r.code for r in reasons] == ["analysis_slow"]
    assert "2.0 帧" in reasons[0].text and "设定 5 帧" in reasons[0].text and "40%" in reasons[0].text


def test_the_rate_must_recover_past_the_limit_before_the_worker_is_well_again() -> None:
    clock = Clock()
    monitor = HealthMonitor(5.0, clock=clock)
    run_at(monitor, clock, 3.5, 40)
    assert [r.code for r in monitor.reasons()] == ["analysis_slow"]
    run_at(monitor, clock, 4.25, 40)  # 85 %: above the 80 % that made it degraded, below the 90 % to recover
    assert [r.code for r in monitor.reasons()] == ["analysis_slow"]
    run_at(monitor, clock, 5.0, 40)
    assert monitor.reasons() == []


def test_a_source_that_keeps_reconnecting_is_unstable_until_it_holds() -> None:
    clock = Clock()
    monitor = HealthMonitor(5.0, clock=clock)
    for _ in range(3):
        clock.now += 20
        monitor.reconnected()
    reasons = monitor.reasons()
    assert [r.code for r in reasons] == ["source_unstable"] and "重连 3 次" in reasons[0].text
    clock.now += 301
    assert [r.code for r in monitor.reasons() if r.code == "source_unstable"] == []


def test_a_model_that_failed_to_load_is_a_lasting_reason() -> None:
    clock = Clock()
    monitor = HealthMonitor(5.0, clock=clock)
    monitor.feature_off("plates_off", "车牌识别模型加载失败，不识别车牌（OSError）")
    run_at(monitor, clock, 5.0, 60)
    assert [(r.code, r.text) for r in monitor.reasons()] == [
        ("plates_off", "车牌识别模型加载失败，不识别车牌（OSError）")
    ]


def test_a_long_reason_is_cut_to_what_the_status_message_takes() -> None:
    monitor = HealthMonitor(5.0, clock=Clock())
    # A missing model names its folder and what to do: with a deep install path, over 200 characters.
    text = "车牌识别模型加载失败，不识别车牌（在 " + "/opt/site-packages" * 12 + " 找不到车牌识别模型）"
    monitor.feature_off("plates_off", text)
    [reason] = monitor.reasons()
    assert reason.text == text[:HEALTH_TEXT_MAX] and len(text) > HEALTH_TEXT_MAX


class FakePublisher:
    """Records what the worker says of its health."""

    device = "jjhy-gate1-cam"

    def __init__(self) -> None:
        self.said: list[list[HealthReason]] = []

    def health(self, reasons: list[HealthReason]) -> None:
        self.said.append(list(reasons))


def test_the_worker_publishes_degraded_when_its_rate_falls_short() -> None:
    clock = Clock()
    monitor = HealthMonitor(5.0, clock=clock)
    publisher, stop = FakePublisher(), threading.Event()
    watcher = threading.Thread(target=_watch_health, args=(publisher, monitor, stop, 0.01, 3600))
    watcher.start()
    try:
        run_at(monitor, clock, 5.0, 40)
        deadline = time.monotonic() + 5
        while not publisher.said and time.monotonic() < deadline:
            time.sleep(0.01)
        run_at(monitor, clock, 2.0, 40)
        while len(publisher.said) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        watcher.join()
    assert publisher.said[0] == []  # well: said once, not again while nothing changes
    assert [r.code for r in publisher.said[1]] == ["analysis_slow"]
    assert len(publisher.said) == 2


def test_the_status_message_with_its_health_is_what_the_platform_accepts() -> None:
    from jiayuan.devices.protocol import status_body
    from jiayuan.kernel.clock import utcnow

    reason = HealthReason(code="analysis_slow", text="近 30 秒每秒只分析了 3.0 帧，设定 5 帧（60%）")
    body = status_body("online", at=utcnow(), health="degraded", reasons=[reason])
    decoded = decode_status(body, device_id="c1", limits=Limits())
    assert isinstance(decoded, Status)
    assert decoded.message.health == "degraded" and decoded.message.reasons == [reason]
    assert "health" not in json.loads(status_body("offline", at=utcnow()))


def test_live_frames_carry_their_capture_time() -> None:
    import cv2
    import numpy as np

    jpeg = cv2.imencode(".jpg", np.zeros((32, 32, 3), np.uint8))[1].tobytes()
    stamped = stamp(jpeg, 1764979200.25)
    assert captured_at(stamped) == 1764979200.25 and captured_at(jpeg) is None
    decoded = cv2.imdecode(np.frombuffer(stamped, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None and decoded.shape == (32, 32, 3)  # still a JPEG every viewer reads
