"""Device messages for the tests: event envelopes and the examples of docs/devices.md."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jiayuan.kernel.ids import new_event_id

DOCS = Path(__file__).resolve().parents[2] / "docs" / "devices.md"


def envelope(
    device: str, type: str, payload: dict[str, Any], *, ts: datetime, id: str | None = None
) -> bytes:
    """One event envelope as a device would send it."""
    return json.dumps(
        {
            "v": 1,
            "id": id or new_event_id(),
            "device": device,
            "type": type,
            "ts": ts.isoformat(),
            "payload": payload,
        }
    ).encode()


@dataclass(frozen=True)
class DocBlock:
    """One JSON block of docs/devices.md, with its `dead-letter=` tag if any."""

    data: dict[str, Any]
    raw: bytes
    dead_letter: str | None


def doc_blocks() -> list[DocBlock]:
    """Every ```json block of docs/devices.md."""
    text = DOCS.read_text(encoding="utf-8")
    blocks = []
    for match in re.finditer(r"```json([^\n]*)\n(.*?)```", text, re.DOTALL):
        tag = re.search(r"dead-letter=(\w+)", match.group(1))
        raw = match.group(2).encode()
        blocks.append(DocBlock(json.loads(raw), raw, tag.group(1) if tag else None))
    return blocks
