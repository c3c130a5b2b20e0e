"""Publish device events to the broker, flat out or at a steady rate; event ids carry the publish time."""

from __future__ import annotations

import argparse
import json
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from jiayuan.devices.protocol import Topics

WINDOW = 1000


def payload(kind: str, index: int, *, poison_every: int = 0, marker: str = "") -> dict[str, object]:
    """A heartbeat or a plate read; with `poison_every`, every so many heartbeats carry `marker`."""
    if kind == "plate":
        return {"plate": f"豫A{index % 100000:05d}", "color": "blue", "confidence": 0.9,
                "direction": "in" if index % 2 else "out"}  # fmt: skip
    poisoned = poison_every and index % poison_every == poison_every // 2
    return {"uptime_s": index, "fw": marker if poisoned else "bench"}


def main() -> None:
    """Publish `--count` events (`--rate 0` = as fast as the window allows)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--device", required=True)
    parser.add_argument("--kind", choices=["heartbeat", "plate"], default="heartbeat")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--poison-every", type=int, default=0, help="every N-th heartbeat carries --marker")
    parser.add_argument("--marker", default="")
    args = parser.parse_args()
    parts = urlsplit(args.url)
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.username_pw_set(parts.username or "bench", parts.password)
    # paho's own inflight bookkeeping is O(window) per PUBACK: bound the window with a semaphore instead.
    client.max_inflight_messages_set(0)
    window = threading.Semaphore(WINDOW)
    client.on_publish = lambda *_a: window.release()
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    topic = Topics(args.prefix).events(args.device)
    kind = "plate_read" if args.kind == "plate" else "heartbeat"

    def content(index: int) -> dict[str, object]:
        return payload(args.kind, index, poison_every=args.poison_every, marker=args.marker)

    started = time.perf_counter()
    for index in range(args.count):
        if args.rate:
            delay = started + index / args.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        window.acquire()
        body = {"v": 1, "id": f"b{time.time_ns()}x{index:08d}", "device": args.device, "type": kind,
                "ts": datetime.now(UTC).isoformat(), "payload": content(index)}  # fmt: skip
        client.publish(topic, json.dumps(body).encode(), qos=1)
    for _ in range(WINDOW):
        window.acquire()
    client.loop_stop()
    client.disconnect()


if __name__ == "__main__":
    main()
