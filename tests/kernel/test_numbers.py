"""Typed numbers: ASCII digits only, bounded; anything else is None, never an exception."""

from __future__ import annotations

import pytest

from jiayuan.kernel.ids import MAX_ROW_ID
from jiayuan.kernel.numbers import row_id, whole_number


@pytest.mark.parametrize("text", ["", "x", "-1", "1.5", " 1", "²", "٣", "１", "1" * 11])
def test_what_is_not_a_whole_number_is_none(text: str) -> None:
    assert whole_number(text) is None


def test_whole_numbers_and_row_ids() -> None:
    assert whole_number("007") == 7 and whole_number("12345", max_digits=4) is None
    assert row_id("1") == 1 and row_id(str(MAX_ROW_ID)) == MAX_ROW_ID
    assert row_id("0") is None and row_id(str(MAX_ROW_ID + 1)) is None and row_id("²") is None
