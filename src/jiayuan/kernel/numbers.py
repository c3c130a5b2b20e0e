"""Whole numbers and row ids as people and forms type them.

`str.isdigit` also accepts "²" or "٣", which `int()` then refuses: every place that reads a typed number
goes through here, so such text is a bad value, never a crash.
"""

from __future__ import annotations

from jiayuan.kernel.ids import MAX_ROW_ID


def whole_number(text: str, *, max_digits: int = 10) -> int | None:
    """The number typed in ASCII digits (at most `max_digits` of them), else None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= max_digits else None


def row_id(text: str) -> int | None:
    """A row id typed as text (1 to MAX_ROW_ID), else None."""
    value = whole_number(text)
    return value if value is not None and 1 <= value <= MAX_ROW_ID else None
