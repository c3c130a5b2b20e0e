"""An ingest loop run in a thread for the length of a `with` block, as `jiayuan serve`'s child runs it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from jiayuan.ingest.runner import IngestLoop


@contextmanager
def ingesting(loop: IngestLoop, *, ready_within: float = 10) -> Iterator[threading.Thread]:
    """Run the loop in a thread (yielded, to check it keeps running): subscribed before the block starts,
    stopped and joined after it ends."""
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        assert loop.connected.wait(ready_within), "the ingest loop did not subscribe in time"
        yield thread
    finally:
        loop.stop()
        thread.join(15)
