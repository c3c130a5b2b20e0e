"""The platform's own MQTT connections: where the broker is, and clients that keep connecting.

Every process that talks to the broker reads `mqtt://user:password@host:port` (or `mqtts://`) here.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from jiayuan.kernel.ids import new_event_id
from jiayuan.kernel.keys import MessageSigner


@dataclass(frozen=True)
class MqttTarget:
    """Where a broker is and how to sign in."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool


def parse_mqtt_url(url: str) -> MqttTarget:
    """`mqtt://u:p@host:1883` or `mqtts://…`; raises ValueError naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp"):
        raise ValueError(f"MQTT URL must start with mqtt:// or mqtts://, got {url!r}")
    if not parts.hostname:
        raise ValueError(f"MQTT URL has no host: {url!r}")
    tls = parts.scheme == "mqtts"
    return MqttTarget(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


def background_client(url: str, *, name: str) -> mqtt.Client:
    """A client named `name-…` (unique per process), signed in as the URL says.

    Set its callbacks, then `loop_start()`: it connects in the background and reconnects forever.
    """
    target = parse_mqtt_url(url)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"{name}-{new_event_id()[-10:]}", protocol=mqtt.MQTTv311
    )
    if target.username:
        client.username_pw_set(target.username, target.password)
    if target.tls:
        client.tls_set()
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    client.connect_async(target.host, target.port, keepalive=30)
    return client


def live_feed_signer(secret_key: str) -> MessageSigner:
    """Signs what ingest publishes on `{prefix}/v1/platform/committed`; web processes check it."""
    return MessageSigner.from_secret(secret_key, "live-feed")
