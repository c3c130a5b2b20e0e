"""What the text typed into a search box means: a name, pinyin, a tail, a number or a plate."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from jiayuan.kernel.errors import Invalid
from jiayuan.kernel.phones import FULL_WIDTH, normalise_phone
from jiayuan.kernel.plates import EMBASSY
from jiayuan.kernel.plates import PROVINCES as PLATE_PROVINCES
from jiayuan.registry.names import DOTS, QUERY_MAX

# What a plate typed into the search box may start with: a province, or 使/领 of a foreign mission.
PROVINCES = PLATE_PROVINCES + EMBASSY + "领"
_PLATE_BODY = re.compile(r"^[A-Z][A-Z0-9]{0,6}$")
_SEPARATORS = re.compile(f"[\\s{re.escape(DOTS)}\\-_]+")
_HAN = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+$")
_LETTERS = re.compile(r"^[a-zü]+$")
_ID_LIKE = re.compile(r"^\d{17}[\dX]$", re.ASCII)
_TAIL = re.compile(r"^\d{3}[\dX]$", re.ASCII)


def normalise_plate(raw: str) -> str:
    """`豫a·12345` → `豫A12345`: upper case without separators or full-width characters."""
    return _SEPARATORS.sub("", raw.translate(FULL_WIDTH)).upper()


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
    if not raw.strip():
        return None
    compact = _SEPARATORS.sub("", raw.translate(FULL_WIDTH))
    if not compact:
        raise Invalid("搜索内容不能只有符号：请输入姓名、拼音、首字母、尾号或车牌", field="q")
    if len(compact) > QUERY_MAX:
        raise Invalid("搜索内容最多 {n} 个字符", field="q", n=QUERY_MAX)
    upper = compact.upper()
    if _HAN.match(compact):
        return Query(QueryKind.NAME, compact)
    if upper[0] in PROVINCES and _PLATE_BODY.match(upper[1:]):
        return Query(QueryKind.PLATE, upper)
    if _LETTERS.match(compact.lower()):
        # ü is stored as v (names.pinyin_variants widens u and yu).
        return Query(QueryKind.PINYIN, compact.lower().replace("ü", "v"))
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
