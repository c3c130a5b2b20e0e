"""Mainland phone numbers as people type them: one normaliser and one shape of a mobile number, for the
registry, the accounts and whatever else takes a number."""

from __future__ import annotations

import re

MOBILE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)
FULL_WIDTH = str.maketrans({chr(0xFF01 + i): chr(0x21 + i) for i in range(94)} | {"\u3000": " "})


def normalise_phone(raw: str) -> str:
    """Digits (and one dash for landlines) without spaces, +86 or full-width characters; a mobile
    written in groups (138-1234-5678, 138 1234 5678) loses its dashes like its spaces."""
    text = raw.strip().translate(FULL_WIDTH).replace(" ", "")
    if text.startswith("+86"):
        text = text[3:]
    plain = text.replace("-", "")
    return plain if MOBILE.match(plain) else text


def mobile_or_none(raw: str) -> str | None:
    """The 11-digit mobile number typed, or None when it is not one."""
    value = normalise_phone(raw)
    return value if MOBILE.match(value) else None
