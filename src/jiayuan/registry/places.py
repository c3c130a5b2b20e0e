"""Building and unit names as offices type them: ３号楼, 三号楼, 3栋 and 3幢 all name the registry's 3号楼.

The key of a name is its NFKC form (full-width digits and letters made plain), lower-cased, with runs of
Chinese numerals read as a number (三 → 3, 十二 → 12, 二十三 → 23, 一〇二 → 102) and a trailing
号楼/栋/幢/座/楼/号 (buildings) or 单元/单/元 (units) dropped. A name typed in the file matches a registry
name when it is the same text, or when exactly one registry name has the same key. docs/registry.md
shows the rule.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from jiayuan.kernel.i18n import N_, Names, Text

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_NUMERAL_RUN = re.compile("[零〇一二两三四五六七八九十百]+")
_SUFFIX = re.compile("(号楼|号栋|栋|幢|座|楼|号|单元|单|元)$")
LISTED_NAMES = 30


def chinese_number(text: str) -> int | None:
    """一 → 1, 十二 → 12, 二十 → 20, 一百零五 → 105, 一〇二 → 102 (digit by digit); None if not a number."""
    if "十" not in text and "百" not in text:
        return int("".join(str(_DIGITS[c]) for c in text)) if text else None
    total, current = 0, 0
    for char in text:
        if char in _DIGITS:
            current = _DIGITS[char]
        elif char == "百":
            total += (current or 1) * 100
            current = 0
        elif char == "十":
            total += (current or 1) * 10
            current = 0
    return total + current


def place_key(name: str) -> str:
    """The comparison key of a building or unit name (see the module docstring)."""
    text = unicodedata.normalize("NFKC", name).strip().lower().replace(" ", "")
    text = _NUMERAL_RUN.sub(lambda m: str(chinese_number(m.group(0))), text)
    return _SUFFIX.sub("", text) or text


@dataclass
class PlaceNames:
    """The buildings of a compound (or units of a building) by name, for matching typed names."""

    ids: dict[str, int] = field(default_factory=dict)
    keyed: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, place_id: int) -> None:
        """Register one stored name."""
        self.ids[name] = place_id
        self.keyed.setdefault(place_key(name), []).append(name)

    def find(self, typed: str) -> int | None:
        """The id the typed name means: the same name, else the one name with the same key."""
        if typed in self.ids:
            return self.ids[typed]
        names = self.keyed.get(place_key(typed), [])
        return self.ids[names[0]] if len(names) == 1 else None

    def listing(self) -> Text:
        """The valid names, for an error message."""
        if not self.ids:
            return Text(N_("该处尚未登记任何名称"))
        names = sorted(self.ids, key=lambda n: (len(n), n))
        if len(names) > LISTED_NAMES:
            return Text(
                N_("可填：{names} 等 {count} 个"), names=Names(names[:LISTED_NAMES]), count=len(names)
            )
        return Text(N_("可填：{names}"), names=Names(names))
