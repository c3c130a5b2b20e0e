"""The live feed from the ingest process: committed gate events, relayed to this app's live clients.

Device events are stored by the ingest process (`jiayuan ingest`, or the child process `jiayuan
serve` starts); after each batch commits it publishes what it committed on the topic
`{prefix}/v1/platform/committed`. Every web process subscribes and hands the messages to its hub,
which checks who may see each one.

Other clients may publish on the broker too (vision workers and the simulator share the platform's
account), so each message is signed with a key derived from JIAYUAN_SECRET_KEY, which only the
web and ingest processes hold; unsigned or badly signed messages are logged and dropped.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import paho.mqtt.client as mqtt

from jiayuan.broker_link import background_client
from jiayuan.bus.hub import Hub
from jiayuan.devices.protocol import Topics
from jiayuan.kernel.keys import MessageSigner

log = logging.getLogger(__name__)


class LiveFeed:
    """Subscribes to the committed-events topic (QoS 0: a live view, not a record) and feeds a hub."""

    def __init__(self, url: str, *, prefix: str, hub: Hub, signer: MessageSigner) -> None:
        self._topic = Topics(prefix).committed
        self._hub = hub
        self._signer = signer
        self.forged = 0
        self._client = background_client(url, name="live-feed")
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message

    def start(self) -> LiveFeed:
        """Connect in the background (and reconnect forever)."""
        self._client.loop_start()
        return self

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("live feed: broker refused the connection: %s", reason)
            return
        client.subscribe(self._topic, qos=0)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        body = self._signer.open(bytes(message.payload))
        if body is None:
            self.forged += 1
            log.warning("live feed: unsigned or badly signed message on %s dropped", message.topic)
            return
        try:
            messages = orjson.loads(body)
        except orjson.JSONDecodeError:
            log.warning("live feed: a message on %s is not JSON; ignored", message.topic)
            return
        if isinstance(messages, list):
            self._hub.publish([m for m in messages if isinstance(m, dict) and "event" in m])

    def close(self) -> None:
        """Stop listening."""
        self._client.disconnect()
        self._client.loop_stop()
