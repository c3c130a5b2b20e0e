"""A live-feed client in its own process (browsers are not in the server's process either).

Prints `ready` once connected, then, when `--count` vehicle events arrived or `--seconds` passed,
one JSON line with each event's publish→receive latency in seconds (event ids carry the publish time).
"""

from __future__ import annotations

import argparse
import json
import time

from websockets.sync.client import connect


def publish_time(event_id: str) -> float:
    """The publish time (s) the publisher wrote into the event id."""
    return int(event_id[1:].split("x")[0]) / 1e9


def main() -> None:
    """Collect latencies of `access.vehicle_seen` messages."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args()
    latencies: list[float] = []
    with connect(args.url, compression=None) as ws:
        print("ready", flush=True)
        deadline = time.monotonic() + args.seconds
        while len(latencies) < args.count and time.monotonic() < deadline:
            try:
                message = json.loads(ws.recv(timeout=1))
            except TimeoutError:
                continue
            if message["event"] == "access.vehicle_seen" and message.get("event_id"):
                latencies.append(time.time() - publish_time(message["event_id"]))
    print(json.dumps(latencies), flush=True)


if __name__ == "__main__":
    main()
