"""Search by name, pinyin, initials, tails, full numbers and plates; masked, paged and scoped."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.errors import Invalid
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import Resident
from jiayuan.registry.repository import COUNT_CAP
from jiayuan.registry.search import QueryKind, parse_query
from jiayuan.registry.service import resident_search, residents
from tests.factories import Tree, make_id, person

SYSTEM = Principal.system()
BORN = date(1985, 6, 1)
FIRST = PageParams(page=1, size=20)


@pytest.fixture
def people(db: Session, tree: Tree, vault: PiiVault) -> dict[str, int]:
    """刘莹 and 刘莹莹 in 锦江花园 101, 李勇 in 森海一期 201, 欧阳娜娜 far away, 单雄信 in 102."""
    rows = [
        ("刘莹", tree.h101.id, 2, "13812345678"),
        ("刘莹莹", tree.h101.id, 4, "13900004321"),
        ("李勇", tree.h201.id, 3, "13700001111"),
        ("欧阳娜娜", tree.h_far.id, 6, None),
        ("单雄信", tree.h102.id, 7, "0371-64123456"),
    ]
    ids = {}
    for name, household, serial, phone in rows:
        data = person(name, BORN, serial, phone=phone)
        ids[name] = residents.add_resident(
            db, actor=SYSTEM, vault=vault, household_id=household, data=data
        ).id
    db.commit()
    return ids


def names(db: Session, vault: PiiVault, q: str | None, actor: Principal = SYSTEM) -> list[str]:
    found = resident_search.search_residents(
        db, actor=actor, vault=vault, q=q, page=FIRST, reason="核对身份信息"
    )
    assert found.total == len(found.items)
    return [item.name for item in found.items]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("刘莹", ["刘莹", "刘莹莹"]),
        ("莹莹", ["刘莹莹"]),
        ("阳娜娜", ["欧阳娜娜"]),
        ("欧阳娜娜", ["欧阳娜娜"]),
        ("liuying", ["刘莹", "刘莹莹"]),
        ("LiuYing", ["刘莹", "刘莹莹"]),
        ("ly", ["刘莹", "李勇", "刘莹莹"]),
        ("lyy", ["刘莹莹"]),
        ("shanxiongxin", ["单雄信"]),
        ("5678", ["刘莹"]),
        ("3456", ["单雄信"]),
        ("13812345678", ["刘莹"]),
        ("138 1234 5678", ["刘莹"]),
        ("豫A12345", ["刘莹", "刘莹莹"]),
        ("豫a·12345", ["刘莹", "刘莹莹"]),
        ("AD987", ["李勇"]),
        ("张三", []),
        ("zzz", []),
    ],
)
def test_search_finds(
    db: Session, vault: PiiVault, people: dict[str, int], q: str, expected: list[str]
) -> None:
    assert sorted(names(db, vault, q)) == sorted(expected)


def test_exact_name_comes_first(db: Session, vault: PiiVault, people: dict[str, int]) -> None:
    assert names(db, vault, "莹")[0] == "刘莹"
    assert names(db, vault, "刘莹莹") == ["刘莹莹"]


def test_id_tail_and_full_id_number(db: Session, vault: PiiVault, people: dict[str, int]) -> None:
    id_number = make_id(BORN, 3)
    assert "李勇" in names(db, vault, id_number[-4:])
    assert names(db, vault, id_number) == ["李勇"]
    assert names(db, vault, id_number.lower()) == ["李勇"]


def test_results_are_masked(db: Session, vault: PiiVault, people: dict[str, int]) -> None:
    found = resident_search.search_residents(db, actor=SYSTEM, vault=vault, q="刘莹", page=FIRST).items[0]
    id_number = make_id(BORN, 2)
    assert found.id_number_masked == id_number[:4] + "*" * 10 + id_number[-4:]
    assert found.phone_masked == "138****5678"
    assert id_number not in found.model_dump_json()
    assert found.address.label == "锦江花园 1号楼 1单元 101"
    assert found.age >= 40


def test_blank_query_lists_everyone_in_scope(
    db: Session, tree: Tree, vault: PiiVault, people: dict[str, int]
) -> None:
    assert len(names(db, vault, None)) == 5
    assert len(names(db, vault, "   ")) == 5
    assert sorted(names(db, vault, "", tree.staff())) == sorted(["刘莹", "刘莹莹", "李勇", "单雄信"])


def test_scope_limits_what_search_sees(
    db: Session, tree: Tree, vault: PiiVault, people: dict[str, int]
) -> None:
    grid = Principal(role=Role.GRID, username="grid", grid_ids=frozenset({tree.grid.id}))
    prop = Principal(role=Role.PROPERTY, username="wy", compound_ids=frozenset({tree.senhai.id}))
    resident = Principal(role=Role.RESIDENT, username="jm", household_id=tree.h102.id)
    other = Principal(role=Role.STAFF, username="far", community_ids=frozenset({tree.other_community.id}))
    assert sorted(names(db, vault, "ly", grid)) == ["刘莹", "刘莹莹"]
    assert names(db, vault, "ly", prop) == ["李勇"]
    assert names(db, vault, "", resident) == ["单雄信"]
    assert names(db, vault, "liuying", resident) == []
    assert names(db, vault, "", other) == ["欧阳娜娜"]
    assert names(db, vault, "刘莹", other) == []


def test_paging(db: Session, vault: PiiVault, people: dict[str, int]) -> None:
    first = resident_search.search_residents(
        db, actor=SYSTEM, vault=vault, q="", page=PageParams(page=1, size=2)
    )
    second = resident_search.search_residents(
        db, actor=SYSTEM, vault=vault, q="", page=PageParams(page=2, size=2)
    )
    assert (first.total, len(first.items), len(second.items)) == (5, 2, 2)
    assert {r.id for r in first.items}.isdisjoint({r.id for r in second.items})
    far = resident_search.search_residents(
        db, actor=SYSTEM, vault=vault, q="", page=PageParams(page=100_000, size=200)
    )
    assert (far.total, far.items, far.page) == (5, [], 100_000)


@pytest.mark.parametrize(
    "q", ["123", "12345", "1234567890123", "%%", "刘莹1", "a" * 33, "<script>", "刘\x00", "٥٦٧٨"]
)
def test_nonsense_queries_are_invalid_on_q(q: str) -> None:
    with pytest.raises(Invalid) as excinfo:
        parse_query(q)
    assert excinfo.value.field == "q"


@pytest.mark.parametrize(
    ("q", "kind"),
    [
        ("刘莹", QueryKind.NAME),
        ("ly", QueryKind.PINYIN),
        ("123X", QueryKind.TAIL),
        ("+8613812345678", QueryKind.PHONE),
        ("11010519491231002x", QueryKind.ID_NUMBER),
        ("京A12345", QueryKind.PLATE),
        ("A12345", QueryKind.PLATE_BODY),
        ("ｌｙ", QueryKind.PINYIN),
    ],
)
def test_query_kinds(q: str, kind: QueryKind) -> None:
    parsed = parse_query(q)
    assert parsed is not None and parsed.kind is kind


def test_total_is_capped_beyond_count_cap(db: Session, tree: Tree, vault: PiiVault) -> None:
    for day in range(COUNT_CAP + 5):
        born = date(1960, 1, 1) + timedelta(days=day)
        residents.add_resident(
            db, actor=SYSTEM, vault=vault, household_id=tree.h101.id, data=person("王伟", born, 1)
        )
    db.commit()
    first = resident_search.search_residents(db, actor=SYSTEM, vault=vault, q="王伟", page=FIRST)
    assert (first.total, first.total_exact, len(first.items)) == (COUNT_CAP, False, 20)
    last = resident_search.search_residents(
        db, actor=SYSTEM, vault=vault, q="wangwei", page=PageParams(page=11, size=20)
    )
    assert [len(last.items), last.total_exact] == [5, False]
    exact = resident_search.search_residents(
        db, actor=tree.staff(), vault=vault, q="wangwei", page=PageParams(page=99, size=20)
    )
    assert (exact.items, exact.total, exact.total_exact) == ([], COUNT_CAP, False)


def test_roles_that_may_not_reveal_cannot_tell_whether_the_birthday_has_passed(
    db: Session, tree: Tree, vault: PiiVault
) -> None:
    """Age in whole years against the birth year halves the candidate days (docs/privacy.md): residents
    born on the first and the last day of one year look alike to them, on any day of the year."""
    early, late = (
        db.get(Resident, residents.add_resident(db, actor=SYSTEM, vault=vault, household_id=tree.h101.id,
                                                data=person(name, born, serial)).id)
        for name, born, serial in (("刘一", date(1985, 1, 1), 2), ("刘二", date(1985, 12, 31), 4))
    )  # fmt: skip
    assert early is not None and late is not None
    db.commit()
    address = residents.show_resident(db, actor=SYSTEM, vault=vault, resident_id=early.id).address
    for day in (date(2026, 3, 1), date(2026, 12, 31)):
        masked = [
            residents.resident_out(r, address, vault=vault, birth_day_shown=False, day=day)
            for r in (early, late)
        ]
        assert {(m.age, m.birth_year, m.birth_date) for m in masked} == {(41, 1985, None)}
        assert all(m.age_this_year for m in masked)
        whole = residents.resident_out(late, address, vault=vault, birth_day_shown=True, day=date(2026, 3, 1))
        assert (whole.age, whole.age_this_year, whole.birth_date) == (40, False, date(1985, 12, 31))
