"""Long-running processes freeze what they loaded at start, so full collections stay short."""

from __future__ import annotations

import gc
import weakref

from jiayuan.kernel.heap import settle


class Node:
    """Something that can point at itself."""

    def __init__(self) -> None:
        self.next: Node | None = None


def test_settle_collects_the_garbage_then_freezes_the_living() -> None:
    gc.unfreeze()
    try:
        kept = [[i] for i in range(5000)]
        node = Node()
        node.next = node  # garbage in a cycle once dropped: only the collector frees it
        gone = weakref.ref(node)
        del node
        settle()
        assert gone() is None
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()
