"""Reconnect with backoff, camera offline after a silence, clean ends and stops."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from jiayuan.vision.capture import Backoff, FrameSource, RateGate


def test_backoff_doubles_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(initial=0.5, factor=2, maximum=4)
    assert [backoff.next() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next() == 0.5


class FakeClock:
    """Time that moves only when the source waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return self.now > 1000  # stop eventually


class Stream:
    """A capture that is closed, or yields `frames` frames then drops."""

    def __init__(self, opened: bool, frames: int = 0) -> None:
        self.opened, self.left = opened, frames

    def isOpened(self) -> bool:
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.zeros((4, 4, 3), dtype=np.uint8)

    def get(self, prop: int) -> float:
        return 25.0

    def release(self) -> None:
        pass


def test_stream_reconnects_with_backoff_and_goes_offline_then_online() -> None:
    clock = FakeClock()
    # Works for 3 frames, then the camera is unreachable for a long time, then comes back.
    script = [Stream(True, 3)] + [Stream(False)] * 8 + [Stream(True, 2)]
    opened: list[str] = []
    states: list[str] = []

    def opener(url: str) -> Stream:
        opened.append(url)
        return script.pop(0) if script else Stream(False)

    source = FrameSource(
        "rtsp://127.0.0.1/cam",
        opener=opener,
        clock=clock,
        backoff=Backoff(initial=1, factor=2, maximum=30),
        on_offline=lambda: states.append("offline"),
        on_online=lambda: states.append("online"),
    )
    frames = []
    for _frame, _t in source.frames(clock.wait):
        frames.append(clock.now)
        if len(frames) == 5:
            break
    assert len(frames) == 5
    reconnect_waits = [w for w in clock.waits if w > 0]
    assert reconnect_waits[:7] == [1, 2, 4, 8, 16, 30, 30]
    assert states == ["offline", "online"]  # offline once 60 s passed without a frame
    assert len(opened) == 10


def test_file_without_loop_ends_and_with_loop_starts_again(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for i in range(5):
        writer.write(np.full((24, 32, 3), i * 40, dtype=np.uint8))
    writer.release()
    stop = threading.Event()
    once = list(FrameSource(str(path), realtime=False).frames(stop.wait))
    assert len(once) == 5
    assert [t for _, t in once] == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])
    looped = []
    for _frame, t in FrameSource(str(path), loop=True, realtime=False).frames(stop.wait):
        looped.append(t)
        if len(looped) == 12:
            break
    assert looped == sorted(looped)  # time keeps going forward across the loop


def test_stop_ends_the_frames() -> None:
    stop = threading.Event()
    source = FrameSource("rtsp://127.0.0.1/cam", opener=lambda url: Stream(True, 1000))
    got = 0
    for _ in source.frames(stop.wait):
        got += 1
        if got == 3:
            stop.set()
    assert got == 3


def test_missing_file_is_a_clear_error() -> None:
    with pytest.raises(FileNotFoundError, match="找不到视频文件"):
        FrameSource("/nonexistent/clip.mp4")


@pytest.mark.parametrize(
    ("source_fps", "target", "expected"), [(12.5, 5, 5), (10, 5, 5), (25, 5, 5), (4, 5, 4), (30, 10, 10)]
)
def test_rate_gate_keeps_the_target_rate(source_fps: float, target: float, expected: int) -> None:
    gate = RateGate(target)
    admitted = sum(gate.admit(i / source_fps) for i in range(int(source_fps * 10)))
    assert admitted == pytest.approx(expected * 10, abs=1)


def test_rate_gate_does_not_bank_a_backlog_after_a_gap() -> None:
    gate = RateGate(5)
    assert gate.admit(0.0)
    assert gate.admit(3.0)  # after a 3 s gap: one frame, then the normal spacing again
    assert not gate.admit(3.1)
    assert gate.admit(3.2)


class MjpegCamera(BaseHTTPRequestHandler):
    """An HTTP MJPEG camera that sends 20 frames per connection, then drops it."""

    connections = 0

    def do_GET(self) -> None:
        type(self).connections += 1
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        for i in range(20):
            jpeg = cv2.imencode(".jpg", np.full((48, 64, 3), i * 10, dtype=np.uint8))[1].tobytes()
            head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg)
            self.wfile.write(head + jpeg + b"\r\n")
            self.wfile.flush()
            time.sleep(0.02)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_http_mjpeg_camera_is_read_and_reconnected_when_it_drops() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), MjpegCamera)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/stream.mjpg"
        source = FrameSource(url, backoff=Backoff(initial=0.1))
        frames = []
        for frame, t in source.frames(threading.Event().wait):
            frames.append((frame.shape, t))
            if len(frames) == 50:
                break
    finally:
        server.shutdown()
        server.server_close()
    assert all(shape == (48, 64, 3) for shape, _ in frames)
    assert MjpegCamera.connections >= 3  # 20 frames per connection: it reconnected at least twice
    assert [t for _, t in frames] == sorted(t for _, t in frames)
