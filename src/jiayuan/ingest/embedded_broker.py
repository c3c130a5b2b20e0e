"""An embedded MQTT broker (amqtt) for `jiayuan demo` when no JIAYUAN_MQTT_URL is configured.

It signs clients in as a production broker would (DESIGN.md §3, docs/devices.md):
- the platform's own clients (ingest loop, simulator, vision workers, live-view relay) use the service
  credential generated at start, which `url` carries;
- a device uses username = its device id and password = its device token, checked against the
  database: the device must be registered and enabled, the token live and issued to that device.
Anyone else, anonymous clients included, is refused with the reason logged (never the password).
A device may publish only under its own `{prefix}/v1/devices/{id}/` (not on its commands topic) and
subscribe only to its own commands topic. amqtt speaks MQTT 3.1.1 only; it listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session as MqttSession
from sqlalchemy.exc import SQLAlchemyError

from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.devices.protocol import Topics
from jiayuan.devices.service import credentials as devices
from jiayuan.kernel.errors import Unauthorized

log = logging.getLogger(__name__)

# (device id, token) → why the device may not sign in, or None when it may.
DeviceCheck = Callable[[str, str], "str | None"]


def free_port(preferred: int = 0) -> int:
    """`preferred` when nothing listens on it locally, else an unused local TCP port."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class TopicRules:
    """Which topics a signed-in client may use: the service all, a device only its own."""

    prefix: str
    service_username: str

    def _own(self, device_id: str) -> str:
        return Topics(self.prefix).device_root(device_id)

    def may_publish(self, username: str | None, topic: str) -> bool:
        """The service anywhere; a device under its own topics except its commands topic."""
        if username == self.service_username:
            return True
        if not username or not topic.startswith(self._own(username)):
            return False
        rest = topic[len(self._own(username)) :]
        return bool(rest) and rest.split("/")[0] != "commands"

    def may_subscribe(self, username: str | None, topic_filter: str) -> bool:
        """The service to anything; a device to its own commands topic only."""
        if username == self.service_username:
            return True
        return bool(username) and topic_filter == self._own(username or "") + "commands"


class DeviceLogins:
    """Device sign-ins checked against the database through the devices service (blocking)."""

    def __init__(self, database_url: str) -> None:
        self._engine = make_engine(database_url)
        self._sessions = make_sessionmaker(self._engine)

    def refusal(self, device_id: str, token: str) -> str | None:
        """Why this device may not sign in with this token, or None when it may."""
        try:
            with unit_of_work(self._sessions) as session:
                devices.check_broker_login(session, device_id=device_id, token=token)
        except Unauthorized as refused:
            return refused.message
        except SQLAlchemyError:
            log.exception("device sign-in could not be checked")
            return "无法核对设备令牌（数据库不可用）"
        return None

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()


class SignInPlugin(BaseAuthPlugin):  # type: ignore[misc]
    """amqtt authentication: the service credential, or a device id with that device's token."""

    @dataclass
    class Config:
        """Filled from the broker configuration by amqtt."""

        service_username: str
        service_password: str
        prefix: str
        devices: Any  # a DeviceCheck; amqtt's config loader cannot type-check callables

    async def authenticate(self, *, session: MqttSession) -> bool:
        """True to accept the CONNECT; a refusal is logged with its reason."""
        config = self.config
        username, password = session.username, session.password or ""
        if not username:
            return _refuse(session, "没有用户名（不接受匿名连接）")
        if username == config.service_username:
            if hmac.compare_digest(password.encode(), config.service_password.encode()):
                return True
            return _refuse(session, "平台服务口令错误")
        rules = TopicRules(config.prefix, config.service_username)
        if session.will_flag and not rules.may_publish(username, session.will_topic or ""):
            return _refuse(session, f"遗嘱主题 {session.will_topic!r} 不属于该设备")
        # The check reads the database: off the broker's event loop, so other clients keep flowing.
        check: DeviceCheck = config.devices
        loop = asyncio.get_running_loop()
        refusal = await loop.run_in_executor(None, check, username, password)
        if refusal is not None:
            return _refuse(session, refusal)
        log.info("device %s signed in to the embedded broker", username)
        return True


def _refuse(session: MqttSession, reason: str) -> bool:
    log.warning(
        "MQTT 登录被拒 sign-in refused: username=%r client_id=%r: %s",
        (session.username or "")[:64],
        (session.client_id or "")[:64],
        reason,
    )
    return False


class _Broker(Broker):  # type: ignore[misc]
    """amqtt's broker with topic rules checked in line and a shutdown that takes no newcomers.

    amqtt runs topic-filter plugins as tasks while it iterates over its subscriptions, so a client
    subscribing or leaving meanwhile fails that broadcast with "dictionary changed size during
    iteration"; checking the rules without yielding to the event loop avoids it.
    """

    def __init__(self, config: dict[str, Any], rules: TopicRules) -> None:
        super().__init__(config)
        self._rules = rules

    async def _topic_filtering(self, session: MqttSession, topic: str, action: Action) -> bool:
        username = session.username if session else None
        if action == Action.PUBLISH and not self._rules.may_publish(username, topic):
            log.warning("MQTT 发布被拒 publish refused: username=%r topic=%r", username, topic)
            return False
        if action == Action.SUBSCRIBE and not self._rules.may_subscribe(username, topic):
            log.warning("MQTT 订阅被拒 subscribe refused: username=%r filter=%r", username, topic)
            return False
        return True

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: MqttSession
    ) -> None:
        # On every CONNECT amqtt offers the newcomer the retained messages of every filter any client
        # holds; only the newcomer's own filters are its business (a device must not read others').
        topic_filter = subscription[0]
        holders = self._subscriptions.get(topic_filter, ())
        if any(held.client_id == session.client_id for held, _ in holders):
            await super()._publish_retained_messages_for_subscription(subscription, session)

    async def shutdown(self) -> None:
        # Stop listening before amqtt tears the sessions down: a client reconnecting meanwhile would
        # be served while its neighbours' subscriptions vanish under the loops serving it.
        for server in self._servers.values():
            if server.instance is not None:
                server.instance.close()
        await super().shutdown()


class EmbeddedBroker:
    """amqtt in a daemon thread with its own event loop; `url` is what platform clients connect to."""

    def __init__(
        self,
        *,
        database_url: str,
        prefix: str = "jiayuan",
        port: int | None = None,
        username: str = "jiayuan",
        password: str | None = None,
    ) -> None:
        self.port = port or free_port()
        self.username = username
        self.password = password or secrets.token_urlsafe(16)
        self.rules = TopicRules(prefix, username)
        self._logins = DeviceLogins(database_url)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """`mqtt://user:password@127.0.0.1:port` with the service credential."""
        return f"mqtt://{self.username}:{self.password}@127.0.0.1:{self.port}"

    def _config(self) -> dict[str, Any]:
        sign_in = f"{SignInPlugin.__module__}.{SignInPlugin.__qualname__}"
        return {
            "listeners": {
                "default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}", "max_connections": 200}
            },
            "plugins": {
                sign_in: {
                    "service_username": self.username,
                    "service_password": self.password,
                    "prefix": self.rules.prefix,
                    "devices": self._logins.refusal,
                }
            },
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
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)

        async def main() -> None:
            self._broker = _Broker(self._config(), self.rules)
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
        # Handlers amqtt leaves behind end here rather than as "Task was destroyed" noise at exit.
        leftovers = asyncio.all_tasks(loop)
        for task in leftovers:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
        loop.close()

    def stop(self) -> None:
        """Shut the broker down and end its thread."""
        loop, broker = self._loop, self._broker
        if loop is None or broker is None or loop.is_closed():
            self._logins.close()
            return
        future = asyncio.run_coroutine_threadsafe(broker.shutdown(), loop)
        try:
            future.result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._logins.close()
