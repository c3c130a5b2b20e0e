"""Chinese plate layouts (GA 36): one definition for the platform and the vision worker.

The worker reads only plate-shaped text and the platform takes as a plate exactly what follows one of
these layouts, so a camera's valid read is never sent to a person as unreadable, nor junk counted.
"""

from __future__ import annotations

from dataclasses import dataclass

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # plates use no I or O
DIGITS = "0123456789"
SERIAL = LETTERS + DIGITS
# Trailer, driving school, police, Hong Kong, Macau, consulate, and the older embassy form.
SUFFIXES = "挂学警港澳领使"
EMBASSY = "使"


@dataclass(frozen=True)
class Layout:
    """One plate layout: its format name and the characters allowed at each position."""

    kind: str
    positions: tuple[str, ...]


LAYOUTS = (
    # New-energy plates: small cars D/F (and the newer A–K) then 5; large vehicles 5 digits then D/F.
    Layout("new_energy", (PROVINCES, LETTERS, "ABCDEFGHJK", SERIAL, *[DIGITS] * 4)),
    Layout("new_energy", (PROVINCES, LETTERS, *[DIGITS] * 5, "DF")),
    Layout("ordinary", (PROVINCES, LETTERS, *[SERIAL] * 4, SERIAL + SUFFIXES)),
    Layout("embassy", (EMBASSY, *[DIGITS] * 6)),
)
# Every character a plate may hold, each once.
SYMBOLS = "".join(dict.fromkeys(PROVINCES + LETTERS + DIGITS + SUFFIXES + EMBASSY))


def layout_of(plate: str) -> Layout | None:
    """The first layout the text follows, or None."""
    for layout in LAYOUTS:
        if len(plate) == len(layout.positions) and all(
            c in allowed for c, allowed in zip(plate, layout.positions, strict=True)
        ):
            return layout
    return None
