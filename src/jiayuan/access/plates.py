"""Plate text as read → normalised plate, format check, and O/0 and I/1 confusions reported (never fixed)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from jiayuan.kernel.plates import layout_of

_SEPARATORS = re.compile(r"[\s·•．.\-_]+")
# Letters I and O never appear on mainland plates; reads showing them are almost always 1 and 0.
_CONFUSIONS = {"O": "0", "I": "1", "0": "O", "1": "I"}


@dataclass(frozen=True)
class Plate:
    """A normalised plate with what a person should know about the read."""

    text: str
    valid_format: bool
    notes: tuple[str, ...]
    alternatives: tuple[str, ...]

    @property
    def readable(self) -> bool:
        """Whether the text, or one O/0 or I/1 reading of it, follows a plate format: a plate to count
        (with its notes). Anything else is no plate, and goes to a person to read from the snapshot."""
        return self.valid_format or any(_follows_format(alt) for alt in self.alternatives)


def _follows_format(text: str) -> bool:
    return layout_of(text) is not None


def normalise(raw: str) -> Plate:
    """`豫Ａ·1O345` → `豫A1O345`, invalid format, note that position 4 'O' may be '0'."""
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw)).upper()
    valid = _follows_format(text)
    notes: list[str] = []
    alternatives: list[str] = []
    for index, char in enumerate(text):
        if index >= 2 and char in "OI":
            swapped = text[:index] + _CONFUSIONS[char] + text[index + 1 :]
            notes.append(f"第{index + 1}位“{char}”可能是“{_CONFUSIONS[char]}”")
            alternatives.append(swapped)
        elif index == 1 and char in "01":
            swapped = text[:index] + _CONFUSIONS[char] + text[index + 1 :]
            notes.append(f"第2位“{char}”可能是“{_CONFUSIONS[char]}”")
            alternatives.append(swapped)
    if not valid and not notes:
        notes.append("不符合车牌格式")
    return Plate(text, valid, tuple(notes), tuple(alternatives))
