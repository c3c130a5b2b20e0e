"""Names found as the office types them: ü spellings, surname readings, middle dots, bare symbols."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.errors import Invalid
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal
from jiayuan.registry.models import Resident
from jiayuan.registry.schemas import ResidentIn
from jiayuan.registry.search import parse_query
from jiayuan.registry.service import resident_search, residents
from tests.factories import Tree, person

SYSTEM = Principal.system()
ALL = PageParams(page=1, size=200)
_serials = itertools.count(1)


def add(db: Session, vault: PiiVault, household_id: int, *names: str) -> None:
    """Residents with these names (distinct ID numbers), committed."""
    for name in names:
        serial = next(_serials)
        born = date(1960, 1, 1) + timedelta(days=serial)
        data = person(name, born, serial % 900 + 1)
        residents.add_resident(db, actor=SYSTEM, vault=vault, household_id=household_id, data=data)
    db.commit()


def found(db: Session, vault: PiiVault, q: str, actor: Principal = SYSTEM) -> list[str]:
    """Names of the residents a search finds."""
    return [
        r.name for r in resident_search.search_residents(db, actor=actor, vault=vault, q=q, page=ALL).items
    ]


# Names with ü, and their syllables with ü written as the query will spell it.
UMLAUT_NAMES = {
    "吕欣": ["l*", "xin"],
    "吕明亮": ["l*", "ming", "liang"],
    "王女英": ["wang", "n*", "ying"],
    "张绿": ["zhang", "l*"],
    "许略": ["xu", "l*e"],
    "女娲": ["n*", "wa"],
}


def test_u_umlaut_is_found_by_v_yu_u_and_umlaut(db: Session, tree: Tree, vault: PiiVault) -> None:
    add(db, vault, tree.h101.id, *UMLAUT_NAMES, "卢欣")
    for name, syllables in UMLAUT_NAMES.items():
        initials = "".join(s[0] for s in syllables)
        assert name in found(db, vault, initials), initials
        for spelling in ("v", "yu", "u", "ü", "Ü"):
            full = "".join(syllables).replace("*", spelling)
            assert name in found(db, vault, full), full
            assert name in found(db, vault, full[: len(syllables[0]) + 1]), full  # while typing
    assert sorted(found(db, vault, "luxin")) == ["卢欣", "吕欣"]
    assert found(db, vault, "lvxin") == ["吕欣"]


# Surname → (its reading as a surname, the everyday reading of its characters).
SURNAMES = {
    "单": ("shan", "dan"),
    "曾": ("zeng", "ceng"),
    "解": ("xie", "jie"),
    "区": ("ou", "qu"),
    "仇": ("qiu", "chou"),
    "朴": ("piao", "pu"),
    "查": ("zha", "cha"),
    "覃": ("qin", "tan"),
    "乐": ("yue", "le"),
    "盖": ("ge", "gai"),
    "翟": ("zhai", "di"),
    "尉迟": ("yuchi", "weichi"),
    "万俟": ("moqi", "wanqi"),
    "澹台": ("tantai", "dantai"),
    "单于": ("chanyu", "danyu"),
}
GIVEN = {"伟": "wei", "秀英": "xiuying", "建国": "jianguo"}


def _initials(surname: str, reading: str, given: str) -> str:
    # Every test surname's readings split into one syllable per character at these points.
    cuts = {"yuchi": "yc", "weichi": "wc", "moqi": "mq", "wanqi": "wq", "tantai": "tt", "dantai": "dt"}
    cuts |= {"chanyu": "cy", "danyu": "dy"}
    head = cuts.get(reading, reading[0])
    return head + {"wei": "w", "xiuying": "xy", "jianguo": "jg"}[given]


def test_surnames_are_found_by_surname_and_everyday_reading(db: Session, tree: Tree, vault: PiiVault) -> None:
    names = {surname + given: (surname, given) for surname in SURNAMES for given in GIVEN}
    add(db, vault, tree.h101.id, *names)
    for name, (surname, given) in names.items():
        for reading in SURNAMES[surname]:
            full = reading + GIVEN[given]
            assert name in found(db, vault, full), full
            assert name in found(db, vault, _initials(surname, reading, GIVEN[given])), name


@pytest.mark.parametrize("given", ["洋", "伟", "明", "强"])
def test_a_one_character_surname_before_a_given_name_is_not_misread(
    db: Session, tree: Tree, vault: PiiVault, given: str
) -> None:
    # 单于洋 is 单 + 于洋 (shan yu yang) before it is the compound surname 单于 + 洋.
    name = "单于" + given
    add(db, vault, tree.h101.id, name, "单于" + given + "华")
    syllable = {"洋": "yang", "伟": "wei", "明": "ming", "强": "qiang"}[given]
    stored = db.scalars(select(Resident).where(Resident.name == name)).one()
    assert (stored.name_pinyin, stored.name_initials) == (f"shanyu{syllable}", f"sy{syllable[0]}")
    for q in (
        f"shanyu{syllable}",
        f"sy{syllable[0]}",
        f"chanyu{syllable}",
        f"danyu{syllable}",
        f"dy{syllable[0]}",
    ):
        assert name in found(db, vault, q), q
    longer = db.scalars(select(Resident).where(Resident.name == name + "华")).one()
    assert longer.name_pinyin == f"chanyu{syllable}hua"  # a real 单于 surname
    assert name + "华" in found(db, vault, f"shanyu{syllable}hua")


DOTS = ["·", "\u0387", "•", "‧", "・", "･", "∙", "⋅", "⸱", "．", "."]
DOTTED = {
    ("买买提", "艾力"): ("maimaiti", "aili", "mmtal"),
    ("尼格买提", "热合曼"): ("nigemaiti", "reheman", "ngmtrhm"),
}


@pytest.mark.parametrize("dot", DOTS)
def test_middle_dots_are_stored_in_one_form_and_found_with_or_without(
    db: Session, tree: Tree, vault: PiiVault, dot: str
) -> None:
    add(db, vault, tree.h101.id, *(f"{first} {dot} {second}" for first, second in DOTTED))
    stored = set(db.scalars(select(Resident.name)))
    assert stored == {f"{first}·{second}" for first, second in DOTTED}
    for (first, second), (first_py, second_py, initials) in DOTTED.items():
        name = f"{first}·{second}"
        for q in (first + second, first + dot + second, f"{first} · {second}", first[-1] + dot + second[0]):
            assert found(db, vault, q) == [name], q
        for q in (first_py + second_py, second_py, initials):
            assert name in found(db, vault, q), q


def test_import_rows_are_normalised_like_form_input() -> None:
    # The Excel import validates each row through ResidentIn, as the form and the API do.
    row = person("买买提・艾力", date(1980, 1, 1), 1).model_dump()
    assert ResidentIn.model_validate(row).name == "买买提·艾力"
    with pytest.raises(ValueError, match="姓名"):
        person("・•", date(1980, 1, 1), 1)


@pytest.mark.parametrize("q", ["_", "-", "·", "•", "・", "‧", "--", "_ _", " · ", "-_·", "．"])
def test_a_query_of_separators_only_is_refused_on_q(db: Session, tree: Tree, vault: PiiVault, q: str) -> None:
    add(db, vault, tree.h101.id, "刘莹")
    with pytest.raises(Invalid) as excinfo:
        found(db, vault, q)
    assert excinfo.value.field == "q" and "符号" in str(excinfo.value)
    assert parse_query("   ") is None


def test_new_keys_stay_in_scope_and_hold_no_numbers(db: Session, tree: Tree, vault: PiiVault) -> None:
    add(db, vault, tree.h_far.id, "单于洋", "吕欣", "买买提·艾力")
    staff = tree.staff()
    for q in ("danyuyang", "syy", "lyuxin", "luxin", "aili", "买买提艾力"):
        assert found(db, vault, q) != [] and found(db, vault, q, staff) == [], q
    for resident in db.scalars(select(Resident)):
        keys = [resident.name_pinyin, resident.name_initials, *resident.name_grams, *resident.name_keys]
        assert all(key.isalpha() for key in keys), keys
