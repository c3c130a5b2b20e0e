"""ID numbers and phones: good ones pass normalised, bad ones name the problem."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jiayuan.kernel.errors import Invalid
from jiayuan.registry.schemas import ResidentIn
from jiayuan.registry.validation import (
    birth_date_of,
    gender_of,
    id_check_digit,
    validate_id_number,
    validate_phone,
)


def test_known_good_id_number() -> None:
    assert validate_id_number("11010519491231002x") == "11010519491231002X"
    assert birth_date_of("11010519491231002X") == date(1949, 12, 31)
    assert gender_of("11010519491231002X") == "女"


def test_full_width_digits_are_accepted() -> None:
    assert validate_id_number("１１０１０５１９４９１２３１００２Ｘ") == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("110105194912310021", "校验位"),
        ("11010519491331002X", "出生日期"),
        ("1101051949123100", "18 位"),
        ("", "18 位"),
    ],
)
def test_bad_id_numbers_say_why(raw: str, reason: str) -> None:
    with pytest.raises(Invalid) as excinfo:
        validate_id_number(raw, field="身份证号")
    assert reason in excinfo.value.message
    assert excinfo.value.field == "身份证号"


@given(st.dates(min_value=date(1920, 1, 1), max_value=date(2020, 12, 31)), st.integers(0, 999))
def test_generated_numbers_validate(born: date, serial: int) -> None:
    first17 = f"410181{born:%Y%m%d}{serial:03d}"
    assert validate_id_number(first17 + id_check_digit(first17)) == first17 + id_check_digit(first17)


@pytest.mark.parametrize("raw", ["13812345678", "+86 138 1234 5678", "0371-64123456"])
def test_good_phones(raw: str) -> None:
    assert validate_phone(raw)


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "abc", ""])
def test_bad_phones(raw: str) -> None:
    with pytest.raises(Invalid):
        validate_phone(raw)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("138-1234-5678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+86-138-1234-5678", "13812345678"),
        ("１３８－１２３４－５６７８", "13812345678"),
        ("0371-64123456", "0371-64123456"),
    ],
)
def test_a_mobile_in_groups_is_stored_plain_and_a_landline_keeps_its_dash(raw: str, stored: str) -> None:
    assert validate_phone(raw) == stored
    assert (
        ResidentIn.model_validate(
            {
                "name": "刘莹",
                "id_number": "410181199003070022",
                "gender": "女",
                "birth_date": "1990-03-07",
                "phone": raw,
            }
        ).phone
        == stored
    )


@pytest.mark.parametrize("raw", ["138-1234-567", "13-81234-5678-9", "0371-6412-3456"])
def test_dashes_do_not_make_a_wrong_number_right(raw: str) -> None:
    with pytest.raises(Invalid):
        validate_phone(raw)
