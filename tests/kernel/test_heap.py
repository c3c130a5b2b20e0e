"""Long-running processes freeze what they loaded at start, so full collections stay short."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Run in a fresh interpreter: in a test worker the heap holds everything the earlier tests left, and a full
# collection of it (then unfreezing it all) took seconds.
CHECK = textwrap.dedent(
    """
    import gc
    import weakref

    from jiayuan.kernel.heap import settle


    class Node:
        def __init__(self):
            self.next = None


    kept = [[i] for i in range(5000)]
    node = Node()
    node.next = node  # garbage in a cycle once dropped: only the collector frees it
    gone = weakref.ref(node)
    del node
    settle()
    assert gone() is None, "the cycle was not collected"
    assert gc.get_freeze_count() >= len(kept), gc.get_freeze_count()
    """
)


def test_settle_collects_the_garbage_then_freezes_the_living() -> None:
    run = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
