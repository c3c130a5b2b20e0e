"""An error's parameters as a page shows them: marked labels (and lists of them) and an error given as the
reason of another in the page's language, data as it is, times in the message's own format."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from jiayuan.duty.schemas import DutyRole
from jiayuan.kernel.clock import LOCAL_TZ
from jiayuan.kernel.errors import Conflict, Invalid
from jiayuan.kernel.i18n import Label, Labels
from jiayuan.web import i18n


@pytest.fixture
def english() -> Iterator[None]:
    token = i18n.current.set("en")
    yield
    i18n.current.reset(token)


def test_labels_show_in_chinese_in_the_message_and_in_english_on_an_english_page(english: None) -> None:
    error = Invalid(
        "{role}只能在{places}值班",
        role=Label(DutyRole.CADRE.label),
        places=Labels(["网格", "全社区"]),
    )
    assert error.message == "值班干部只能在网格、全社区值班"
    assert i18n.error_text(error) == "Duty officer shifts can only be at: Grid, Whole community"


def test_data_stays_as_typed_and_a_reason_is_translated(english: None) -> None:
    reason = Invalid("人员 #{id} 不存在", id=7)
    error = Invalid("模板 #{id}：{reason}，请先删除或改派", id=3, reason=reason)
    assert error.message == "模板 #3：人员 #7 不存在，请先删除或改派"
    assert i18n.error_text(error) == "Template #3: Person #7 does not exist; delete or reassign it first"
    named = Conflict("这一轮由 {name} 进行", name="网格")  # a person's name that happens to be a label
    assert i18n.error_text(named) == "This round is being done by 网格"


def test_a_time_is_written_as_the_message_of_each_language_writes_it(english: None) -> None:
    at = datetime(2026, 12, 7, 8, 30, tzinfo=LOCAL_TZ)
    error = Conflict("已于 {at:%m月%d日 %H:%M} 签到", at=at)
    assert error.message == "已于 12月07日 08:30 签到"
    assert i18n.error_text(error) == "Already signed in at 12-07 08:30"
