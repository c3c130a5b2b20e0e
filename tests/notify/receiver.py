"""A real local HTTP receiver standing in for a group robot or SMS provider: it answers each request
with the next scripted behaviour (HTTP 500, a wrong errcode, a hang longer than the client's timeout)
and, once the script runs out, accepts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

OK = "ok"
HTTP_500 = "500"
ERRCODE = "errcode"  # HTTP 200 with {"errcode": 310000}
HANG = "hang"  # answers only after the client gave up


@dataclass(frozen=True)
class Received:
    """One request as it arrived."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    behaviour: str
    at: float


class Receiver:
    """The scripted provider; `requests` lists every request, delivered or not."""

    def __init__(self, script: list[str] | None = None, *, hang_s: float = 1.0) -> None:
        self.script = list(script or [])
        self.hang_s = hang_s
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with receiver._lock:
                    behaviour = receiver.script.pop(0) if receiver.script else OK
                    parts = urlsplit(self.path)
                    receiver.requests.append(
                        Received(
                            path=parts.path,
                            query={k: v[0] for k, v in parse_qs(parts.query).items()},
                            headers={k.lower(): v for k, v in self.headers.items()},
                            body=json.loads(raw) if raw else None,
                            behaviour=behaviour,
                            at=time.monotonic(),
                        )
                    )
                if behaviour == HANG:
                    receiver._stopping.wait(receiver.hang_s)
                if behaviour == HTTP_500:
                    self._answer(500, {"error": "provider down"})
                elif behaviour == ERRCODE:
                    self._answer(200, {"errcode": 310000, "errmsg": "sign not match"})
                else:
                    self._answer(200, {"errcode": 0, "errmsg": "ok"})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def delivered(self) -> list[Received]:
        """The requests that were accepted."""
        with self._lock:
            return [r for r in self.requests if r.behaviour == OK]

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def receiving(script: list[str] | None = None, *, hang_s: float = 1.0) -> Iterator[Receiver]:
    """A running receiver for the duration of a block."""
    receiver = Receiver(script, hang_s=hang_s).start()
    try:
        yield receiver
    finally:
        receiver.stop()
