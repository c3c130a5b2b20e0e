"""The camera worker: frames in, events, evidence snapshots and live frames out over MQTT."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from jiayuan.vision.annotate import draw, stamp, to_jpeg
from jiayuan.vision.capture import FrameSource, RateGate
from jiayuan.vision.health import HealthMonitor
from jiayuan.vision.pipeline import Pipeline, VisionEvent
from jiayuan.vision.publish import Publisher

log = logging.getLogger(__name__)
FIRMWARE = "jiayuan-vision/1"


@dataclass
class WorkerStats:
    """Counters a running worker keeps (for logs and the heartbeat)."""

    frames: int = 0
    analysed: int = 0
    events: int = 0
    failed: int = 0
    started: float = 0.0
    first_frame: float | None = None
    ended: float = 0.0

    @property
    def analysis_fps(self) -> float:
        """Frames analysed per second of running time, from the first frame on."""
        span = self.ended - (self.first_frame or self.ended)
        return self.analysed / span if span > 0 else 0.0


def publish_event(publisher: Publisher, event: VisionEvent) -> None:
    """Store the evidence snapshot first, then publish the event that references it."""
    payload = dict(event.payload)
    if event.evidence is not None:
        payload["snapshot"] = publisher.snapshot(to_jpeg(event.evidence))
    elif event.type in ("line_cross", "plate_read", "loitering"):
        payload["snapshot"] = None
    publisher.event(event.type, payload)


def _heartbeat(publisher: Publisher, stats: WorkerStats, stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        publisher.event(
            "heartbeat", {"uptime_s": round(time.monotonic() - stats.started), "fw": FIRMWARE, "queue": 0}
        )


def _watch_health(
    publisher: Publisher, health: HealthMonitor, stop: threading.Event, every: float, resend: float
) -> None:
    """Publish the worker's health when its reasons change (and their figures again every `resend` s)."""
    sent: list[str] | None = None
    sent_at = 0.0
    while not stop.wait(every):
        reasons = health.reasons()
        codes = [r.code for r in reasons]
        now = time.monotonic()
        if codes != sent or (reasons and now - sent_at >= resend):
            if codes != sent:
                log.warning(
                    "camera %s: %s", publisher.device, "; ".join(r.text for r in reasons) or "运行正常"
                )
            publisher.health(reasons)
            sent, sent_at = codes, now


def run_camera(
    source: FrameSource,
    pipeline: Pipeline,
    publisher: Publisher,
    stop: threading.Event,
    *,
    analysis_fps: float = 10.0,
    live_fps: float = 2.0,
    heartbeat_seconds: float = 30.0,
    health: HealthMonitor | None = None,
    health_seconds: float = 2.0,
) -> WorkerStats:
    """Run until the source ends or `stop` is set; returns what was done.

    Live frames carry their capture time (`annotate.stamp`); the worker's health goes out with its
    status every `health_seconds` when it changed."""
    stats = WorkerStats(started=time.monotonic())
    health = health or HealthMonitor(analysis_fps)
    beat = threading.Thread(target=_heartbeat, args=(publisher, stats, stop, heartbeat_seconds), daemon=True)
    beat.start()
    watch = threading.Thread(
        target=_watch_health, args=(publisher, health, stop, health_seconds, heartbeat_seconds), daemon=True
    )
    watch.start()
    gate = RateGate(analysis_fps)
    last_live = -1e9
    try:
        for frame, t in source.frames(stop.wait):
            captured = time.time()
            stats.frames += 1
            if stats.first_frame is None:
                stats.first_frame = time.monotonic()
            if not gate.admit(t):
                continue  # the camera is faster than the analysis rate
            stats.analysed += 1
            health.analysed()
            try:
                result = pipeline.process(frame, t)
            except Exception:
                # One undecodable or odd frame must not take the gate's camera down.
                stats.failed += 1
                log.exception("camera %s: frame at %.2f s could not be analysed", publisher.device, t)
                continue
            for event in result.events:
                try:
                    publish_event(publisher, event)
                except ValueError:
                    log.exception("camera %s: %s event not published", publisher.device, event.type)
                    continue
                stats.events += 1
            now = time.monotonic()
            if live_fps > 0 and now - last_live >= 1.0 / live_fps:
                last_live = now
                annotated = draw(result.view, pipeline.config, result.tracks, pipeline.counters)
                jpeg = to_jpeg(annotated, max_bytes=256 * 1024, max_width=960, quality=70)
                publisher.live(stamp(jpeg, captured))
        for event in pipeline.close():
            publish_event(publisher, event)
            stats.events += 1
    finally:
        stats.ended = time.monotonic()
        stop.set()
        beat.join(timeout=1)
        watch.join(timeout=1)
    log.info(
        "camera %s: %d frames, %d analysed, %d events",
        publisher.device,
        stats.frames,
        stats.analysed,
        stats.events,
    )
    return stats
