"""An embedded MQTT broker (amqtt) for `jiayuan demo` when no JIAYUAN_MQTT_URL is configured.

amqtt speaks MQTT 3.1.1 only, and keeps QoS 1 messages for a persistent session only when the
client signed in with a username, so anonymous clients are refused here and every client (the
ingest loop, the simulator, devices) connects as `device id` / token. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import threading
from typing import Any

log = logging.getLogger(__name__)


def free_port() -> int:
    """An unused local TCP port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class EmbeddedBroker:
    """amqtt in a daemon thread with its own event loop; `url` is what clients connect to."""

    def __init__(
        self, port: int | None = None, *, username: str = "jiayuan", password: str | None = None
    ) -> None:
        self.port = port or free_port()
        self.username = username
        self.password = password or secrets.token_urlsafe(12)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """`mqtt://user:password@127.0.0.1:port`."""
        return f"mqtt://{self.username}:{self.password}@127.0.0.1:{self.port}"

    def _config(self) -> dict[str, Any]:
        return {
            "listeners": {
                "default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}", "max_connections": 200}
            },
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": False}},
        }

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        """Start the broker and wait until it accepts connections."""
        self._thread = threading.Thread(target=self._run, name="jiayuan-mqtt-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"内置 MQTT 服务未能在 {timeout:.0f} 秒内启动（端口 {self.port}）")
        if self._error is not None:
            raise RuntimeError(f"内置 MQTT 服务启动失败：{self._error}") from self._error
        log.info("embedded MQTT broker on 127.0.0.1:%s", self.port)
        return self

    def _run(self) -> None:
        from amqtt.broker import Broker

        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)

        async def main() -> None:
            self._broker = Broker(self._config())
            await self._broker.start()

        try:
            loop.run_until_complete(main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        loop.run_forever()
        loop.close()

    def stop(self) -> None:
        """Shut the broker down and end its thread."""
        loop, broker = self._loop, self._broker
        if loop is None or broker is None or loop.is_closed():
            return
        future = asyncio.run_coroutine_threadsafe(broker.shutdown(), loop)
        try:
            future.result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=10)
