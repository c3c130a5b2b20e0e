"""`delivered` receipts: after a batch commits, tell each device which of its messages are safe.

A device keeps what it published in an outbox until a receipt names it (docs/brokers.md), so a broker
that loses its queue in a crash loses nothing the device still holds. Dead letters are receipted too:
the platform has kept them, and sending them again would only park them again.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import orjson

from jiayuan.devices import commands
from jiayuan.devices.protocol import EVENT_ID_PATTERN, RECEIPT_MAX_IDS, SNAPSHOT_ID_PATTERN, Topics
from jiayuan.devices.service.pipeline import RawMessage


@dataclass
class Receipt:
    """What one device is told in one `delivered` command."""

    ids: list[str] = field(default_factory=list)
    snapshots: list[str] = field(default_factory=list)


def _event_id(body: bytes) -> str | None:
    """The envelope's `id` when the body is a JSON object that has a string one."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    found = data.get("id") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None


def receipts(raws: Iterable[RawMessage], topics: Topics) -> dict[str, Receipt]:
    """Per device, the event ids and snapshot ids among these committed MQTT messages."""
    out: dict[str, Receipt] = defaultdict(Receipt)
    for raw in raws:
        snapshot = topics.parse_snapshot(raw.topic)
        if snapshot is not None:
            out[snapshot[0]].snapshots.append(snapshot[1])
            continue
        parsed = topics.parse(raw.topic)
        if parsed is None or parsed[1] != "events":
            continue
        event_id = _event_id(raw.payload)
        if event_id is not None:
            out[parsed[0]].ids.append(event_id)
    return out


def commands_for(device_id: str, receipt: Receipt) -> Iterator[bytes]:
    """The `delivered` commands for one device, at most RECEIPT_MAX_IDS ids of each kind apiece.

    Ids that are not valid protocol ids are left out: such a message was parked as a dead letter
    and a device that sends ids like that cannot match a receipt anyway.
    """
    ids = [i for i in dict.fromkeys(receipt.ids) if re.fullmatch(EVENT_ID_PATTERN, i)]
    snaps = [s for s in dict.fromkeys(receipt.snapshots) if re.fullmatch(SNAPSHOT_ID_PATTERN, s)]
    for start in range(0, max(len(ids), len(snaps)), RECEIPT_MAX_IDS):
        payload = {
            "ids": ids[start : start + RECEIPT_MAX_IDS],
            "snapshots": snaps[start : start + RECEIPT_MAX_IDS],
        }
        yield commands.build(device_id, "delivered", payload)
