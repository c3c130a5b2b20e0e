"""A control connection to Mosquitto's dynamic security plugin (`$CONTROL/dynamic-security/v1`).

The plugin answers each command on the response topic to the asking client only; answers are
matched to commands by their correlation data.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

import orjson
import paho.mqtt.client as mqtt

from jiayuan.broker import dynsec
from jiayuan.broker_link import background_client

log = logging.getLogger(__name__)


class BrokerAdminError(RuntimeError):
    """The broker did not answer, or refused a command."""


class BrokerSilent(BrokerAdminError):
    """No answer at all: not connected, no right to administer it, or no dynamic security plugin."""


class BrokerAdmin:
    """Sends batches of plugin commands and waits for their answers (thread-safe)."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self._timeout = timeout
        self._client = background_client(url, name="broker-admin")
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._waiting: dict[str, dict[str, Any] | None] = {}
        self._answered = threading.Condition(self._lock)

    def start(self) -> BrokerAdmin:
        """Connect in the background (and reconnect forever)."""
        self._client.loop_start()
        return self

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("broker admin: the broker refused the platform account: %s", reason)
            return
        client.subscribe(dynsec.RESPONSE_TOPIC, qos=1)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, reasons: list[Any], _p: Any) -> None:
        if all(not r.is_failure for r in reasons):
            self._ready.set()
        else:
            log.error("broker admin: the platform account may not administer the broker (role missing)")

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        try:
            responses = orjson.loads(message.payload).get("responses", [])
        except (orjson.JSONDecodeError, AttributeError):
            return
        with self._answered:
            for response in responses:
                key = response.get("correlationData") if isinstance(response, dict) else None
                if key in self._waiting:
                    self._waiting[key] = response
            self._answered.notify_all()

    def run(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send the commands in one message; the plugin's answers in the same order."""
        timeout = self._timeout
        if not self._ready.wait(timeout):
            raise BrokerSilent("MQTT 服务未连接，或平台账户无权管理动态安全插件（$CONTROL/dynamic-security）")
        tag = uuid.uuid4().hex
        keyed = [{**c, "correlationData": f"{tag}:{i}"} for i, c in enumerate(commands)]
        keys = [c["correlationData"] for c in keyed]
        with self._answered:
            self._waiting.update(dict.fromkeys(keys))
        try:
            self._client.publish(dynsec.CONTROL_TOPIC, orjson.dumps({"commands": keyed}), qos=1)
            with self._answered:
                if not self._answered.wait_for(lambda: all(self._waiting[k] for k in keys), timeout):
                    raise BrokerSilent("MQTT 服务未在时限内答复安全插件命令（是否加载了动态安全插件？）")
                return [self._waiting[k] or {} for k in keys]
        finally:
            with self._answered:
                for key in keys:
                    self._waiting.pop(key, None)


# Answers that mean "already so": creating what exists is how the commands stay idempotent.
_FINE = frozenset({"Client already exists", "Role already exists", "Client not found"})


def check(responses: list[dict[str, Any]]) -> None:
    """Raise BrokerAdminError for the first answer that is a real error."""
    for response in responses:
        error = response.get("error")
        if error and error not in _FINE:
            raise BrokerAdminError(f"{response.get('command')}: {error}")
