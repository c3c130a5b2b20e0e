"""Checks on personal identifiers: 18-digit ID numbers (GB 11643-1999) and mainland phone numbers."""

from __future__ import annotations

import re
from datetime import date

from jiayuan.kernel.errors import Invalid
from jiayuan.kernel.phones import FULL_WIDTH, MOBILE, normalise_phone

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^[1-9]\d{16}[\dX]$", re.ASCII)
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$", re.ASCII)


def id_check_digit(first17: str) -> str:
    """The check character for the first 17 digits of an ID number."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalise_id_number(raw: str) -> str:
    """Upper-case, strip spaces and full-width characters; no validation."""
    text = raw.strip().replace(" ", "").translate(FULL_WIDTH)
    return text.upper()


def birth_date_of(id_number: str) -> date:
    """The birth date encoded in positions 7–14."""
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def gender_of(id_number: str) -> str:
    """`男` or `女` from the 17th digit (odd is male)."""
    return "男" if int(id_number[16]) % 2 else "女"


def validate_id_number(raw: str, *, field: str = "id_number") -> str:
    """The normalised ID number, or Invalid naming what is wrong with it."""
    value = normalise_id_number(raw)
    if not _ID_SHAPE.match(value):
        raise Invalid("身份证号应为 18 位（前 17 位为数字，末位为数字或 X）", field=field)
    try:
        born = birth_date_of(value)
    except ValueError:
        raise Invalid("身份证号中的出生日期无效", field=field) from None
    if born.year < 1900 or born > date.today():  # noqa: DTZ011 - a calendar date, not a moment
        raise Invalid("身份证号中的出生日期不合理", field=field)
    if id_check_digit(value[:17]) != value[17]:
        raise Invalid("身份证号校验位错误", field=field)
    return value


def validate_phone(raw: str, *, field: str = "phone") -> str:
    """A mainland mobile (11 digits starting 13–19) or a landline with area code, else Invalid."""
    value = normalise_phone(raw)
    if MOBILE.match(value) or _LANDLINE.match(value):
        return value
    raise Invalid("手机号格式不正确（应为 11 位手机号或带区号的固话）", field=field)
