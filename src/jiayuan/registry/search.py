"""Search keys: pinyin of names, substrings for name search, and what a query box text means."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pypinyin import lazy_pinyin

from jiayuan.kernel.errors import Invalid
from jiayuan.registry.validation import normalise_phone

# Surnames whose reading differs from the common reading of the character (pypinyin reads
# 单 as "dan", 曾 as "ceng", 解 as "jie" …). Two-character surnames first.
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

# Name substrings are indexed up to this length; longer queries are matched on their first
# GRAM_MAX characters and then checked in full.
GRAM_MAX = 4
QUERY_MAX = 32

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
_PLATE_BODY = re.compile(r"^[A-Z][A-Z0-9]{0,6}$")
_SEPARATORS = re.compile(r"[\s·•．.\-_]+")
_HAN = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+$")
_LETTERS = re.compile(r"^[a-z]+$")
_ID_LIKE = re.compile(r"^\d{17}[\dX]$", re.ASCII)
_TAIL = re.compile(r"^\d{3}[\dX]$", re.ASCII)
_FULL_WIDTH = str.maketrans({chr(0xFF01 + i): chr(0x21 + i) for i in range(94)} | {"\u3000": " "})


def _syllables(name: str) -> list[str]:
    for surname, reading in SURNAME_PINYIN.items():
        if name.startswith(surname):
            rest = name[len(surname) :]
            return [*reading, *(lazy_pinyin(rest) if rest else [])]
    return lazy_pinyin(name)


def name_pinyin(name: str) -> tuple[str, str]:
    """Full pinyin and initials of a name, lower-case ASCII: 刘莹 → ("liuying", "ly")."""
    syllables = [re.sub(r"[^a-z]", "", s.lower()) for s in _syllables(name)]
    syllables = [s for s in syllables if s]
    return "".join(syllables), "".join(s[0] for s in syllables)


def name_grams(name: str) -> list[str]:
    """Every substring of the name up to GRAM_MAX characters (the PostgreSQL name index keys)."""
    grams = {name[i : i + n] for n in range(1, GRAM_MAX + 1) for i in range(len(name) - n + 1)}
    return sorted(grams)


def normalise_plate(raw: str) -> str:
    """`豫a·12345` → `豫A12345`: upper case without separators or full-width characters."""
    return _SEPARATORS.sub("", raw.translate(_FULL_WIDTH)).upper()


class QueryKind(StrEnum):
    """What the text typed into the search box is taken to be."""

    NAME = "name"
    PINYIN = "pinyin"
    TAIL = "tail"
    PHONE = "phone"
    ID_NUMBER = "id_number"
    PLATE = "plate"
    PLATE_BODY = "plate_body"


@dataclass(frozen=True)
class Query:
    """A parsed search text."""

    kind: QueryKind
    text: str


def parse_query(raw: str) -> Query | None:
    """Classify the search text; None for a blank one, Invalid (field `q`) for nonsense."""
    compact = _SEPARATORS.sub("", raw.translate(_FULL_WIDTH))
    if not compact:
        return None
    if len(compact) > QUERY_MAX:
        raise Invalid(f"搜索内容最多 {QUERY_MAX} 个字符", field="q")
    upper = compact.upper()
    if _HAN.match(compact):
        return Query(QueryKind.NAME, compact)
    if upper[0] in PROVINCES and _PLATE_BODY.match(upper[1:]):
        return Query(QueryKind.PLATE, upper)
    if _LETTERS.match(compact.lower()):
        return Query(QueryKind.PINYIN, compact.lower())
    if _TAIL.match(upper):
        return Query(QueryKind.TAIL, upper)
    if _ID_LIKE.match(upper):
        return Query(QueryKind.ID_NUMBER, upper)
    if (compact.isascii() and compact.isdigit()) or compact.startswith("+86"):
        phone = normalise_phone(compact)
        if len(phone) == 11 and phone.isascii() and phone.isdigit():
            return Query(QueryKind.PHONE, phone)
        raise Invalid("数字请输入手机号或身份证号的后 4 位，或完整的 11 位手机号、18 位身份证号", field="q")
    if _PLATE_BODY.match(upper) and any(ch.isdigit() for ch in upper) and len(upper) >= 3:
        return Query(QueryKind.PLATE_BODY, upper)
    raise Invalid("无法识别的搜索内容：请输入姓名、拼音、首字母、尾号或车牌", field="q")
