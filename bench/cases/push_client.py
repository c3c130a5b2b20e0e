"""A case-push client in its own process (the office's browser is not in the server's process either).

Prints `ready` once connected, then, after `--seconds`, one JSON object: for each case raised
(`cases.changed` on the screen's stream, `case` on the phone's) its id and the wall-clock time (s)
its first message arrived.
"""

from __future__ import annotations

import argparse
import json
import time

from websockets.sync.client import connect


def main() -> None:
    """Collect the arrival time of every new case pushed on the stream."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args()
    arrived: dict[int, float] = {}
    others = 0
    with connect(args.url, compression=None, max_size=None) as ws:
        print("ready", flush=True)
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            try:
                message = json.loads(ws.recv(timeout=0.5))
            except TimeoutError:
                continue
            if message.get("event") == "cases.changed":  # the office screen's stream
                arrived.setdefault(int(message["case_id"]), time.time())
            elif message.get("event") == "case":  # the worker's phone stream
                arrived.setdefault(int(message["case"]["id"]), time.time())
            else:
                others += 1
    print(json.dumps({"cases": arrived, "other_messages": others}), flush=True)


if __name__ == "__main__":
    main()
