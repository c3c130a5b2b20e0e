"""Names as stored and as searched: one middle-dot form, pinyin readings, search keys.

A name is searched by its Han characters (`name_grams`) and by every prefix of the full pinyin and
initials of each of its readings (`name_keys`); `name_pinyin` and `name_initials` keep the primary
reading. On PostgreSQL both arrays sit in one GIN index beside the community id, so a community's
staff get one index scan. The readings come mechanically from SURNAME_PINYIN:

- a name starting with a listed surname is read with the surname reading (单 shan, 曾 zeng) and
  also with the everyday reading of the surname's characters (pypinyin's reading of each character
  alone: 单 dan, 曾 ceng), so an operator who does not know the surname reading still finds it;
- a name starting with a listed two-character surname is read both as that surname and as a
  one-character surname followed by the given name (单于洋: 单于 + 洋 and 单 + 于洋); the
  one-character reading comes first for names of three characters or fewer;
- a name with middle dots (transliterated names) is read part by part, without surname readings,
  and each later part's reading is a key of its own (买买提·艾力 is also found by `aili`).

ü is stored as `v` (pypinyin's spelling); queries spelt with `u`, `yu` or `ü` are widened to `v`
by `pinyin_variants`, so no extra keys are stored for it.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from pypinyin import lazy_pinyin

# Surnames whose reading differs from the everyday reading of their characters.
# Two-character surnames are matched before one-character ones.
SURNAME_PINYIN: dict[str, tuple[str, ...]] = {
    "尉迟": ("yu", "chi"),
    "万俟": ("mo", "qi"),
    "单于": ("chan", "yu"),
    "长孙": ("zhang", "sun"),
    "澹台": ("tan", "tai"),
    "单": ("shan",),
    "曾": ("zeng",),
    "解": ("xie",),
    "区": ("ou",),
    "仇": ("qiu",),
    "查": ("zha",),
    "朴": ("piao",),
    "盖": ("ge",),
    "乐": ("yue",),
    "覃": ("qin",),
    "缪": ("miao",),
    "翟": ("zhai",),
    "秘": ("bi",),
    "繁": ("po",),
    "员": ("yun",),
    "召": ("shao",),
    "句": ("gou",),
    "种": ("chong",),
    "折": ("she",),
    "厍": ("she",),
    "褚": ("chu",),
    "隗": ("wei",),
    "冼": ("xian",),
    "黑": ("he",),
    "宓": ("fu",),
    "禚": ("zhuo",),
}

# The stored middle dot, and every character used for it in names (interpunct, bullet, hyphenation
# point, katakana and half-width katakana middle dots, bullet and dot operators, word-separator
# dot, Greek ano teleia, full stops typed instead of a dot).
DOT = "\u00b7"
DOTS = "\u00b7\u0387\u2022\u2027\u2219\u22c5\u2e31\u30fb\uff65\uff0e."
_DOT_RUN = re.compile(f"[{re.escape(DOTS)}]+")

# Name substrings are indexed up to this length; longer queries are matched on their first
# GRAM_MAX characters and then checked in full.
GRAM_MAX = 4
# Queries are at most this long, so longer key prefixes are never asked for.
QUERY_MAX = 32
# A query with more ambiguous ü spellings than this is widened on its first ones only.
VARIANTS_MAX = 16
_NOT_LETTER = re.compile(r"[^a-z]")
_UMLAUT = re.compile(r"(?<=[ln])(yu|u)")


def normalise_name(raw: str) -> str:
    """Blanks removed and any run of dot characters made one `·`, none at the ends."""
    return _DOT_RUN.sub(DOT, "".join(raw.split())).strip(DOT)


def without_dots(name: str) -> str:
    """The name as typed without its dots: 买买提·艾力 → 买买提艾力."""
    return _DOT_RUN.sub("", name)


def _clean(syllables: list[str]) -> list[str]:
    letters = (_NOT_LETTER.sub("", s.lower()) for s in syllables)
    return [s for s in letters if s]


def _everyday(chars: str) -> list[str]:
    return _clean([lazy_pinyin(ch)[0] for ch in chars])


def readings(name: str) -> list[list[str]]:
    """The syllables of every reading of a name, primary first, without repeats."""
    found: list[list[str]] = []
    if DOT in name:
        found.append([s for part in name.split(DOT) for s in _clean(lazy_pinyin(part))])
        found += [_clean(lazy_pinyin(part)) for part in name.split(DOT)[1:]]
    else:
        splits = [s for s in SURNAME_PINYIN if name.startswith(s) and len(name) > len(s)]
        if len(splits) == 2 and len(name) <= 3:
            splits.reverse()
        for surname in splits:
            rest = _clean(lazy_pinyin(name[len(surname) :]))
            found += [[*SURNAME_PINYIN[surname], *rest], [*_everyday(surname), *rest]]
        found.append(_clean(lazy_pinyin(name)))
    unique: list[list[str]] = []
    for reading in found:
        if reading and reading not in unique:
            unique.append(reading)
    return unique


def name_pinyin(name: str) -> tuple[str, str]:
    """Full pinyin and initials of the primary reading, lower-case ASCII: 刘莹 → ("liuying", "ly")."""
    first = (readings(name) or [[]])[0]
    return "".join(first), "".join(s[0] for s in first)


def _prefixes(text: str) -> set[str]:
    return {text[:n] for n in range(1, min(len(text), QUERY_MAX) + 1)}


def name_keys(name: str) -> list[str]:
    """Every prefix of the full pinyin and of the initials of every reading: 刘莹 → l, li, liu, …, ly."""
    return sorted(
        {key for r in readings(name) for key in _prefixes("".join(r)) | _prefixes("".join(s[0] for s in r))}
    )


def name_grams(name: str) -> list[str]:
    """Every substring up to GRAM_MAX characters of the name without its dots (the PostgreSQL index keys)."""
    bare = without_dots(name)
    return sorted({bare[i : i + n] for n in range(1, GRAM_MAX + 1) for i in range(len(bare) - n + 1)})


def name_columns(name: str) -> dict[str, Any]:
    """The stored search columns of a (normalised) name."""
    pinyin, initials = name_pinyin(name)
    return {
        "name_pinyin": pinyin,
        "name_initials": initials,
        "name_grams": name_grams(name),
        "name_keys": name_keys(name),
    }


def pinyin_variants(text: str) -> list[str]:
    """A letters query and its ü spellings as stored: lyuxin, luxin → lvxin too (吕欣)."""
    spots = list(_UMLAUT.finditer(text))[: VARIANTS_MAX.bit_length() - 1]
    variants = []
    for choice in itertools.product((False, True), repeat=len(spots)):
        out, last = [], 0
        for spot, widen in zip(spots, choice, strict=True):
            out += [text[last : spot.start()], "v" if widen else spot.group()]
            last = spot.end()
        variants.append("".join([*out, text[last:]]))
    return variants
