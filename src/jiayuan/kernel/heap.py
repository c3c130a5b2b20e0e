"""Long-running processes keep what they loaded at start out of the cyclic collector's way."""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect once, then freeze every object alive now (modules, schemas, dictionaries).

    A full collection walks every tracked object. After start-up that is hundreds of thousands of them,
    and the walk paused the ingest loop for about 100 ms, the worst of its publish→WebSocket latency.
    Frozen objects are skipped from then on, so a full collection pauses for a few milliseconds.
    """
    gc.collect()
    gc.freeze()
