"""Whether a camera worker does all its work: the analysis rate it keeps, its source, its models.

A worker that falls behind (a busy machine, too many cameras), whose stream keeps dropping, or whose
plate model did not load still counts something; the console must say that it runs degraded and why,
rather than show a camera that looks fine. The reasons go out in the retained status message
(devices.protocol `health`/`reasons`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from jiayuan.devices.protocol import HEALTH_TEXT_MAX, HealthReason


class HealthMonitor:
    """Judges a worker's health from what it reports; thread-safe, with an injectable clock.

    The analysis rate is judged over the last `window` seconds once the worker has analysed for that
    long (start-up and model loading are not the steady state): below `keep` of the target it is
    degraded, and it is well again at `recover` of the target (a gap, so a rate near the limit does not
    flap). A source that had to reconnect `reconnects` times within `reconnect_window` seconds is
    unstable until the reconnects age out.
    """

    def __init__(
        self,
        target_fps: float,
        *,
        window: float = 30.0,
        keep: float = 0.8,
        recover: float = 0.9,
        reconnects: int = 3,
        reconnect_window: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.target_fps = target_fps
        self.window, self.keep, self.recover = window, keep, recover
        self.reconnects, self.reconnect_window = reconnects, reconnect_window
        self._clock = clock
        self._lock = threading.Lock()
        self._analysed: deque[float] = deque()
        self._first: float | None = None
        self._reconnected: deque[float] = deque()
        self._off: dict[str, str] = {}
        self._slow = False

    def analysed(self) -> None:
        """One frame analysed now."""
        now = self._clock()
        with self._lock:
            if self._first is None:
                self._first = now
            self._analysed.append(now)
            self._trim(now)

    def reconnected(self) -> None:
        """The source dropped (or would not open) and is being opened again."""
        now = self._clock()
        with self._lock:
            self._reconnected.append(now)

    def feature_off(self, code: str, text: str) -> None:
        """A part of the work that does not run at all (a model that failed to load); a long text is cut
        to what the status message takes."""
        with self._lock:
            self._off[code] = text[:HEALTH_TEXT_MAX]

    def kept_fps(self) -> float | None:
        """Frames analysed per second over the last window; None before the worker ran that long."""
        now = self._clock()
        with self._lock:
            self._trim(now)
            if self._first is None or now - self._first < self.window:
                return None
            return len(self._analysed) / self.window

    def reasons(self) -> list[HealthReason]:
        """Why the worker runs degraded now; empty when it does all its work."""
        kept = self.kept_fps()
        now = self._clock()
        found: list[HealthReason] = []
        with self._lock:
            if kept is not None:
                limit = self.recover if self._slow else self.keep
                self._slow = kept < limit * self.target_fps
            if self._slow and kept is not None:
                share = kept / self.target_fps
                found.append(
                    HealthReason(
                        code="analysis_slow",
                        text=f"近 {self.window:.0f} 秒每秒只分析了 {kept:.1f} 帧，"
                        f"设定 {self.target_fps:g} 帧（{share:.0%}）",
                    )
                )
            while self._reconnected and now - self._reconnected[0] > self.reconnect_window:
                self._reconnected.popleft()
            if len(self._reconnected) >= self.reconnects:
                minutes = self.reconnect_window / 60
                found.append(
                    HealthReason(
                        code="source_unstable",
                        text=f"近 {minutes:g} 分钟视频源断线重连 {len(self._reconnected)} 次",
                    )
                )
            found.extend(HealthReason(code=code, text=text) for code, text in self._off.items())
        return found

    def _trim(self, now: float) -> None:
        while self._analysed and now - self._analysed[0] >= self.window:
            self._analysed.popleft()
