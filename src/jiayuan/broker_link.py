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


def make_client(
    url: str,
    *,
    client_id: str,
    username: str | None = None,
    password: str | None = None,
    persistent: bool = False,
    manual_ack: bool = False,
    reconnect_max_s: int = 30,
    max_inflight: int = 20,
    max_queued: int = 0,
) -> mqtt.Client:
    """The one way this code base builds an MQTT 3.1.1 client (paho), signed in as the URL says.

    `username`/`password` fill in what the URL leaves out (`password` wins: a device's token). A
    `persistent` client keeps its session and queued QoS 1 messages on the broker while away;
    `max_inflight` 0 sends QoS 1 messages without waiting for earlier PUBACKs; `max_queued` bounds what
    waits for the broker while away (0: no bound). Set the
    callbacks, then `loop_start()`: it connects in the background and reconnects forever.
    """
    target = parse_mqtt_url(url)
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=not persistent,
        protocol=mqtt.MQTTv311,
        manual_ack=manual_ack,
    )
    login = target.username or username
    if login:
        client.username_pw_set(login, password or target.password)
    if target.tls:
        client.tls_set()
    client.reconnect_delay_set(min_delay=1, max_delay=reconnect_max_s)
    client.max_inflight_messages_set(max_inflight)
    client.max_queued_messages_set(max_queued)
    client.connect_async(target.host, target.port, keepalive=30)
    return client


def background_client(url: str, *, name: str) -> mqtt.Client:
    """A platform client named `name-…` (unique per process); see make_client."""
    return make_client(url, client_id=f"{name}-{new_event_id()[-10:]}")


def live_feed_signer(secret_key: str) -> MessageSigner:
    """Signs what ingest publishes on `{prefix}/v1/platform/committed`; web processes check it."""
    return MessageSigner.from_secret(secret_key, "live-feed")
