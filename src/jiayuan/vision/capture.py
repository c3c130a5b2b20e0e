"""Frames from RTSP, HTTP (MJPEG) or a video file, with reconnect backoff and an offline timer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2

from jiayuan.vision.detect import Frame

log = logging.getLogger(__name__)


class Capture(Protocol):
    """The part of cv2.VideoCapture the worker uses."""

    def isOpened(self) -> bool: ...
    def read(self) -> tuple[bool, Frame | None]: ...
    def get(self, prop: int) -> float: ...
    def release(self) -> None: ...


@dataclass
class Backoff:
    """Exponential waits between reconnects: initial, doubled each failure, capped; reset on success."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    _next: float = 0.0

    def next(self) -> float:
        """The wait before the next attempt."""
        delay = self._next or self.initial
        self._next = min(delay * self.factor, self.maximum)
        return delay

    def reset(self) -> None:
        """Start again from the initial wait."""
        self._next = 0.0


class RateGate:
    """Lets through frames at a target rate by their timestamps, whatever the source's own rate."""

    def __init__(self, fps: float) -> None:
        self.period = 1.0 / fps
        self._due: float | None = None

    def admit(self, t: float) -> bool:
        """Whether the frame taken at t is due for analysis."""
        if self._due is not None and t + 1e-6 < self._due:
            return False
        # Keep the schedule (12.5 fps in, 5 fps out gives exactly 5), but never bank a backlog.
        self._due = (
            t + self.period if self._due is None or t - self._due >= self.period else self._due + self.period
        )
        return True


def is_file(source: str) -> bool:
    """Whether the source is a local video file rather than a stream URL."""
    return "://" not in source


STREAM_TIMEOUT_MS = 10_000


def open_capture(source: str) -> Capture:
    """OpenCV's capture for a file or URL (FFmpeg backend: RTSP, HTTP MJPEG) with open and read timeouts."""
    if is_file(source):
        return cv2.VideoCapture(source)
    # Without a read timeout a stalled stream blocks in read() and the camera never counts as offline.
    timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_TIMEOUT_MS]
    timeouts += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_TIMEOUT_MS]
    return cv2.VideoCapture(source, cv2.CAP_FFMPEG, timeouts)


class FrameSource:
    """Yields (frame, t) until stopped; t is media time for files and monotonic time for streams."""

    def __init__(
        self,
        source: str,
        *,
        loop: bool = False,
        realtime: bool = True,
        offline_after: float = 60.0,
        opener: Callable[[str], Capture] = open_capture,
        clock: Callable[[], float] = time.monotonic,
        backoff: Backoff | None = None,
        on_offline: Callable[[], None] = lambda: None,
        on_online: Callable[[], None] = lambda: None,
        on_reconnect: Callable[[], None] = lambda: None,
    ) -> None:
        if is_file(source) and not Path(source).is_file():
            raise FileNotFoundError(f"找不到视频文件: {source}")
        self.source = source
        self.loop = loop
        self.realtime = realtime
        self.offline_after = offline_after
        self._opener = opener
        self._clock = clock
        self.backoff = backoff or Backoff()
        self._on_offline, self._on_online = on_offline, on_online
        self._on_reconnect = on_reconnect
        self.offline = False
        self.fps = 0.0

    def frames(self, wait: Callable[[float], bool]) -> Iterator[tuple[Frame, float]]:
        """Frames until the source ends (a file without loop) or `wait` reports a stop."""
        last_frame = self._clock()
        media_offset = 0.0
        while True:
            capture = self._opener(self.source)
            if not capture.isOpened():
                capture.release()
                self._on_reconnect()
                last_frame = self._check_offline(last_frame)
                if wait(self.backoff.next()):
                    return
                continue
            self.fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
            started, index = self._clock(), 0
            while True:
                ok, frame = capture.read()
                if not ok or frame is None:
                    break
                now = self._clock()
                last_frame = now
                self.backoff.reset()
                if self.offline:
                    self.offline = False
                    self._on_online()
                if is_file(self.source):
                    t = media_offset + index / self.fps
                    index += 1
                    if self.realtime and wait(max(0.0, started + index / self.fps - self._clock())):
                        capture.release()
                        return
                else:
                    t = now
                yield frame, t
                if wait(0):
                    capture.release()
                    return
            capture.release()
            if is_file(self.source):
                if not self.loop:
                    return
                media_offset += index / self.fps + 1.0
                continue
            log.warning("stream %s dropped; reconnecting", self.source)
            self._on_reconnect()
            last_frame = self._check_offline(last_frame)
            if wait(self.backoff.next()):
                return

    def _check_offline(self, last_frame: float) -> float:
        if not self.offline and self._clock() - last_frame >= self.offline_after:
            self.offline = True
            self._on_offline()
        return last_frame
