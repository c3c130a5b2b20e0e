"""The ingest loop in a child process of `jiayuan serve` / `jiayuan demo`, started again when it dies.

Its own interpreter means its own core: the web app's requests and live clients never wait for the
ingest loop's Python work. A child that ends without being asked to (a crash, SIGKILL, the OOM killer)
is reaped, its end is logged, and a new one starts after a backoff; `health()` tells `/healthz`.
Messages the dead child had not acknowledged stay with the broker and reach the next one.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any, Literal, Protocol

from jiayuan.devices.service.pipeline import BatchOutcome
from jiayuan.ingest.runner import IngestLoop
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.heap import settle
from jiayuan.settings import Settings

log = logging.getLogger(__name__)

# Child → parent messages are (tag, body) pairs.
_READY = "ready"
_REPORT = "report"
_SHUTDOWN_GRACE_S = 2.0


class CommitObserver(Protocol):
    """Sees every committed batch inside the ingest process (the benchmark times them this way).

    The child process holds its own copy: `report` is called there once the loop has stopped, and what
    it returns is handed to `receive` of the parent's copy before `stop()` returns. Only the child
    running at that moment reports: what an earlier, dead child saw died with it.
    """

    def __call__(self, outcome: BatchOutcome) -> None: ...

    def report(self) -> Any: ...

    def receive(self, report: Any) -> None: ...


def restart_delay(
    previous: float | None,
    ran_for: float,
    *,
    first: float = 1.0,
    cap: float = 30.0,
    stable_after: float = 60.0,
) -> float:
    """Seconds to wait before the next child: `first`, doubling up to `cap` while children keep dying
    young; back to `first` once a child had run `stable_after` seconds (a crash now and then is not a
    crash loop)."""
    if previous is None or ran_for >= stable_after:
        return first
    return min(previous * 2, cap)


def exit_reason(exitcode: int | None) -> str:
    """How a child ended, for logs and the health check: `signal SIGKILL`, `exit code 1`."""
    if exitcode is None:
        return "unknown"
    if exitcode < 0:
        try:
            return f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"


@dataclass(frozen=True)
class IngestHealth:
    """What the health check shows: the state, since when, and how the last child ended."""

    state: Literal["starting", "running", "restarting", "stopped"]
    since: datetime
    restarts: int = 0
    last_exit: str | None = None


def _run_child(settings: Settings, parent: Connection, observer: CommitObserver | None) -> None:
    """The child process: run the loop until the parent says stop or goes away (its end closes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us in order
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    loop = IngestLoop(settings, on_commit=observer)
    # SIGTERM (a service manager, multiprocessing's clean-up at the parent's exit) finishes the batch in hand.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: loop.stop())
    sending = threading.Lock()

    def send(tag: str, body: Any) -> None:
        with sending, contextlib.suppress(OSError):  # the parent is gone: nobody to tell
            parent.send((tag, body))

    def announce() -> None:
        loop.connected.wait()
        send(_READY, None)

    def listen() -> None:
        with contextlib.suppress(EOFError, OSError):
            parent.recv()
        loop.stop()

    threading.Thread(target=announce, name="jiayuan-ingest-ready", daemon=True).start()
    threading.Thread(target=listen, name="jiayuan-ingest-watch", daemon=True).start()
    settle()
    loop.run()
    if observer is not None:
        send(_REPORT, observer.report())


class _Child:
    """One spawned ingest process and the parent's end of its pipe."""

    def __init__(self, context: SpawnContext, settings: Settings, observer: CommitObserver | None) -> None:
        self.pipe, theirs = context.Pipe()
        self.process: SpawnProcess = context.Process(
            target=_run_child, args=(settings, theirs, observer), name="jiayuan-ingest", daemon=True
        )
        self.process.start()
        theirs.close()
        self.started = time.monotonic()

    def ask_to_stop(self) -> None:
        with contextlib.suppress(OSError):  # already reaped and closed
            self.pipe.send("stop")

    def end(self) -> None:
        """Wait for the process to finish (killing it if it hangs) and reap it."""
        self.process.join(timeout=15)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.pipe.close()


class IngestSupervisor:
    """Keeps one ingest child running until `stop()`; read its state with `health()`."""

    def __init__(
        self,
        settings: Settings,
        *,
        observer: CommitObserver | None = None,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
        stable_after: float = 60.0,
    ) -> None:
        self._settings = settings
        self._observer = observer
        self._delays = {"first": first_delay, "cap": max_delay, "stable_after": stable_after}
        self._context = multiprocessing.get_context("spawn")
        self._stopping = threading.Event()
        self._wake, self._waker = self._context.Pipe(duplex=False)
        self._lock = threading.Lock()
        self._health = IngestHealth("starting", utcnow())
        self._child: _Child | None = None
        self._watcher: threading.Thread | None = None

    def health(self) -> IngestHealth:
        """The current state (safe to call from any thread)."""
        with self._lock:
            return self._health

    def start(self, timeout: float = 60.0) -> None:
        """Start the first child and return once it is subscribed, so that devices started next
        cannot publish before the persistent session exists; later restarts happen in the background."""
        child = self._child = _Child(self._context, self._settings, self._observer)
        try:
            if not child.pipe.poll(timeout):
                raise EOFError
            child.pipe.recv()  # EOFError too when the child died on the way
        except EOFError:
            child.process.kill()
            child.end()
            raise RuntimeError(
                "设备事件接入进程未能连接 MQTT：请检查 JIAYUAN_MQTT_URL 与数据库设置"
            ) from None
        self._update(state="running")
        self._watcher = threading.Thread(
            target=self._watch, args=(child,), name="jiayuan-ingest-supervisor", daemon=True
        )
        self._watcher.start()

    def stop(self) -> None:
        """Stop the child in order (it finishes the batch in hand) and start no other."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._waker.send_bytes(b"")
        if self._watcher is not None:
            self._watcher.join()
        child = self._child
        if child is not None:
            child.ask_to_stop()
            if self._observer is not None:
                self._hand_over(child, self._observer)
            child.end()
        self._update(state="stopped")
        self._wake.close()
        self._waker.close()

    def _watch(self, child: _Child) -> None:
        """Reap a child that ended on its own, log why, and start the next one after a backoff."""
        delay: float | None = None
        while self._wait_for_end(child):
            child.end()
            reason = exit_reason(child.process.exitcode)
            ran_for = time.monotonic() - child.started
            delay = restart_delay(delay, ran_for, **self._delays)
            with self._lock:
                restarts = self._health.restarts + 1
                self._health = IngestHealth("restarting", utcnow(), restarts, reason)
            # An orderly end we did not ask for is most often a SIGTERM to the whole process group, with
            # the platform's own shutdown a moment behind: no error to report if that follows.
            if child.process.exitcode == 0 and self._stopping.wait(_SHUTDOWN_GRACE_S):
                return
            log.error(
                "ingest process ended (%s) after %.1f s; starting it again in %.0f s (restart %d)",
                reason,
                ran_for,
                delay,
                restarts,
            )
            if self._stopping.wait(delay):
                return
            child = self._child = _Child(self._context, self._settings, self._observer)

    def _wait_for_end(self, child: _Child) -> bool:
        """True once the child has ended on its own, False when we are stopping.

        Meanwhile a restarted child's "subscribed" turns the state back to running.
        """
        watched: list[Any] = [self._wake, child.process.sentinel, child.pipe]
        while not self._stopping.is_set():
            for ready in wait(watched):
                if ready is child.pipe:
                    try:
                        child.pipe.recv()
                    except EOFError:
                        watched.remove(child.pipe)
                        continue
                    self._update(state="running")
                    log.warning("ingest process subscribed again after a restart")
                elif ready == child.process.sentinel:
                    return not self._stopping.is_set()
        return False

    def _update(self, *, state: Literal["running", "stopped"]) -> None:
        with self._lock:
            self._health = IngestHealth(state, utcnow(), self._health.restarts, self._health.last_exit)

    def _hand_over(self, child: _Child, observer: CommitObserver) -> None:
        """Give the parent's observer what the child's saw (skipping a late "subscribed")."""
        deadline = time.monotonic() + 15
        with contextlib.suppress(EOFError, OSError):
            while child.pipe.poll(max(deadline - time.monotonic(), 0)):
                tag, body = child.pipe.recv()
                if tag == _REPORT:
                    observer.receive(body)
                    return


def start_in_child_process(
    settings: Settings, *, timeout: float = 60.0, observer: CommitObserver | None = None
) -> IngestSupervisor:
    """Run the ingest loop in a supervised child process; returns once it is subscribed."""
    supervisor = IngestSupervisor(settings, observer=observer)
    supervisor.start(timeout)
    return supervisor
