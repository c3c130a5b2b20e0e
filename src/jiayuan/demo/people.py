"""Households and the people in them, drawn from one seeded random generator.

Everything is derived from the generator in a fixed order, so the same seed gives the same names,
ID numbers and phones on every run and on every database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from jiayuan.demo import names
from jiayuan.demo.layout import REGION_CODE, CompoundPlan
from jiayuan.registry.validation import id_check_digit

# Ages are counted at a fixed date so the data does not drift with the calendar.
REFERENCE_DAY = date(2026, 11, 27)

# The registry's relation vocabulary (registry.schemas.Relation).
HEAD, SPOUSE, CHILD, PARENT, GRANDCHILD, DAUGHTER_IN_LAW = "户主", "配偶", "子女", "父母", "孙子女", "儿媳"

_MOBILE_PREFIXES = (
    "130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156",
    "157", "158", "159", "166", "176", "177", "180", "182", "183", "185", "186", "187", "188", "189",
    "191", "199",
)  # fmt: skip
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # plates never use I or O
_PLATE_PREFIXES = ("豫A", "豫A", "豫A", "豫A", "豫A", "豫G", "豫C", "豫B", "豫F", "豫E")
_FUEL_MODELS = (
    "大众朗逸", "大众速腾", "丰田卡罗拉", "本田雅阁", "日产轩逸", "别克英朗", "吉利帝豪", "长安CS75",
    "哈弗H6", "五菱宏光", "宝骏510", "奥迪A4L", "宝马3系", "现代伊兰特", "奇瑞瑞虎8",
)  # fmt: skip
_ELECTRIC_MODELS = ("比亚迪秦PLUS", "比亚迪宋PLUS", "特斯拉Model 3", "五菱宏光MINIEV", "埃安S", "理想L6")

_KINDS = (
    ("elder_alone", 7),
    ("elder_couple", 13),
    ("single", 10),
    ("couple", 12),
    ("nuclear", 38),
    ("with_parents", 10),
    ("with_grandchildren", 6),
    ("single_parent", 4),
)


@dataclass(frozen=True)
class PersonPlan:
    """One resident as the registry stores it (before encryption)."""

    name: str
    gender: str
    birth_date: date
    id_number: str
    phone: str | None
    relation: str
    residence_type: str
    moved_in_on: date
    tags: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class VehiclePlan:
    """A resident vehicle: plate, colour, model and which member owns it."""

    plate: str
    color: str
    model: str
    owner_index: int


@dataclass
class HouseholdPlan:
    """One occupied flat, its people (the head first) and its vehicles."""

    compound: str
    building: str
    unit: str
    room: str
    people: list[PersonPlan] = field(default_factory=list)
    vehicles: list[VehiclePlan] = field(default_factory=list)


class PeopleFactory:
    """Draws unique ID numbers, phones and plates; remembers what it already handed out."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._ids: set[str] = set()
        self._phones: set[str] = set()
        self._plates: set[str] = set()

    def birth_date(self, age: int) -> date:
        """A birthday that makes the person `age` on the reference day."""
        latest = REFERENCE_DAY.replace(year=REFERENCE_DAY.year - age)
        return latest - timedelta(days=self.rng.randrange(365))

    def id_number(self, born: date, gender: str) -> str:
        """A unique 18-digit number: region, birth date, sequence (odd for men) and check digit."""
        while True:
            serial = self.rng.randrange(100)
            parity = self.rng.randrange(5) * 2 + (1 if gender == "男" else 0)
            first17 = f"{REGION_CODE}{born:%Y%m%d}{serial:02d}{parity}"
            number = first17 + id_check_digit(first17)
            if number not in self._ids:
                self._ids.add(number)
                return number

    def phone(self) -> str:
        """A unique mainland mobile number."""
        while True:
            number = self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self._phones:
                self._phones.add(number)
                return number

    def plate(self, *, electric: bool) -> str:
        """A unique plate: 7 characters, or 8 for new-energy (green) plates."""
        while True:
            prefix = self.rng.choice(_PLATE_PREFIXES)
            if electric:
                tail = self.rng.choice("DF") + f"{self.rng.randrange(10**5):05d}"
            else:
                # Ordinary plates are mostly digits: at most one letter after the first character.
                body = [self.rng.choice("0123456789") for _ in range(4)]
                if self.rng.random() < 0.4:
                    body[self.rng.randrange(4)] = self.rng.choice(_LETTERS)
                tail = self.rng.choice(_LETTERS[:16]) + "".join(body)
            plate = prefix + tail
            if plate not in self._plates:
                self._plates.add(plate)
                return plate


@dataclass
class _Family:
    """Working state while one household is being drawn."""

    factory: PeopleFactory
    moved_in: date
    residence: str
    people: list[PersonPlan] = field(default_factory=list)

    def add(
        self, *, surname: str, gender: str, age: int, relation: str, residence: str | None = None
    ) -> None:
        rng = self.factory.rng
        born = self.factory.birth_date(age)
        full_name = surname + names.given_name(rng, gender=gender, birth_year=born.year)
        has_phone = age >= 14 and (age < 80 or rng.random() < 0.5)
        self.people.append(
            PersonPlan(
                name=full_name,
                gender=gender,
                birth_date=born,
                id_number=self.factory.id_number(born, gender),
                phone=self.factory.phone() if has_phone else None,
                relation=relation,
                residence_type=residence or self.residence,
                moved_in_on=max(self.moved_in, born),
            )
        )


def _other(gender: str) -> str:
    return "女" if gender == "男" else "男"


def _draw_family(factory: PeopleFactory, kind: str, plan: CompoundPlan) -> list[PersonPlan]:
    rng = factory.rng
    moved_in = date(rng.randrange(plan.built, 2026), rng.randrange(1, 13), rng.randrange(1, 29))
    owner_residence = "户籍" if rng.random() < 0.72 else "常住"
    tenant_residence = rng.choices(("租住", "流动", "常住"), weights=(6, 3, 1))[0]
    renting = kind == "single" or (kind == "couple" and rng.random() < 0.35)
    family = _Family(factory, moved_in, tenant_residence if renting else owner_residence)
    head_gender = "男" if rng.random() < 0.72 else "女"
    head_surname = names.surname(rng)
    spouse_surname = names.surname(rng)
    # Children take the father's surname.
    family_surname = head_surname if head_gender == "男" else spouse_surname

    def children(count: int, parent_age: int, surname: str, relation: str) -> None:
        for _ in range(count):
            gender = rng.choice(("男", "女"))
            age = max(0, parent_age - rng.randrange(22, 36))
            family.add(surname=surname, gender=gender, age=age, relation=relation)

    if kind == "elder_alone":
        family.add(surname=head_surname, gender=head_gender, age=rng.randrange(66, 94), relation=HEAD)
    elif kind == "elder_couple":
        age = rng.randrange(62, 90)
        family.add(surname=head_surname, gender=head_gender, age=age, relation=HEAD)
        spouse_age = min(95, max(60, age + rng.randrange(-4, 5)))
        family.add(surname=spouse_surname, gender=_other(head_gender), age=spouse_age, relation=SPOUSE)
    elif kind == "single":
        family.add(surname=head_surname, gender=head_gender, age=rng.randrange(22, 41), relation=HEAD)
    elif kind == "couple":
        age = rng.randrange(24, 46)
        family.add(surname=head_surname, gender=head_gender, age=age, relation=HEAD)
        spouse_age = max(22, age + rng.randrange(-3, 4))
        family.add(surname=spouse_surname, gender=_other(head_gender), age=spouse_age, relation=SPOUSE)
    elif kind in ("nuclear", "with_parents"):
        age = rng.randrange(30, 56)
        family.add(surname=head_surname, gender=head_gender, age=age, relation=HEAD)
        spouse_age = max(24, age + rng.randrange(-3, 4))
        family.add(surname=spouse_surname, gender=_other(head_gender), age=spouse_age, relation=SPOUSE)
        count = rng.choices((1, 2, 3), weights=(58, 38, 4))[0]
        children(count, min(age, spouse_age), family_surname, CHILD)
        if kind == "with_parents":
            parent_age = min(95, age + rng.randrange(24, 34))
            if rng.random() < 0.6:
                family.add(surname=head_surname, gender="男", age=parent_age, relation=PARENT)
            family.add(surname=names.surname(rng), gender="女", age=parent_age - 2, relation=PARENT)
    elif kind == "with_grandchildren":
        age = rng.randrange(56, 76)
        family.add(surname=head_surname, gender=head_gender, age=age, relation=HEAD)
        if rng.random() < 0.8:
            spouse_age = age + rng.randrange(-3, 4)
            family.add(surname=spouse_surname, gender=_other(head_gender), age=spouse_age, relation=SPOUSE)
        son_age = age - rng.randrange(24, 32)
        family.add(surname=family_surname, gender="男", age=son_age, relation=CHILD)
        family.add(
            surname=names.surname(rng),
            gender="女",
            age=son_age - rng.randrange(0, 4),
            relation=DAUGHTER_IN_LAW,
        )
        children(rng.choice((1, 2)), son_age, family_surname, GRANDCHILD)
    else:  # single_parent
        age = rng.randrange(30, 51)
        family.add(surname=head_surname, gender=head_gender, age=age, relation=HEAD)
        children(rng.choice((1, 1, 2)), age, family_surname, CHILD)
    return _with_tags(rng, family.people, living_alone=kind == "elder_alone")


def _age(born: date) -> int:
    years = REFERENCE_DAY.year - born.year
    return years - ((REFERENCE_DAY.month, REFERENCE_DAY.day) < (born.month, born.day))


def _with_tags(rng: random.Random, people: list[PersonPlan], *, living_alone: bool) -> list[PersonPlan]:
    """Care tags that follow from the person (age, living alone) plus a few drawn at plausible rates."""
    poor = rng.random() < 0.012
    tagged: list[PersonPlan] = []
    for index, person in enumerate(people):
        age = _age(person.birth_date)
        tags: list[str] = []
        if living_alone and age >= 60:
            tags.append("独居老人")
        if age >= 80:
            tags.append("高龄")
        if rng.random() < 0.015:
            tags.append("残疾")
        if poor and index == 0:
            tags.append("低保")
        if person.gender == "男" and 35 <= age <= 80 and rng.random() < 0.03:
            tags.append("退役军人")
        if age >= 25 and rng.random() < (0.12 if age >= 60 else 0.06):
            tags.append("党员")
        if age >= 18 and rng.random() < 0.003:
            tags.append("重点关注")
        tagged.append(
            PersonPlan(
                name=person.name,
                gender=person.gender,
                birth_date=person.birth_date,
                id_number=person.id_number,
                phone=person.phone,
                relation=person.relation,
                residence_type=person.residence_type,
                moved_in_on=person.moved_in_on,
                tags=tuple(tags),
            )
        )
    return tagged


def _draw_vehicles(factory: PeopleFactory, kind: str, people: list[PersonPlan]) -> list[VehiclePlan]:
    rng = factory.rng
    rate = {"elder_alone": 0.03, "elder_couple": 0.12, "single": 0.25}.get(kind, 0.5)
    if rng.random() >= rate:
        return []
    drivers = [i for i, p in enumerate(people) if 20 <= _age(p.birth_date) <= 75] or [0]
    count = 2 if len(drivers) > 1 and rng.random() < 0.15 else 1
    vehicles = []
    for number in range(count):
        electric = rng.random() < 0.22
        model = rng.choice(_ELECTRIC_MODELS if electric else _FUEL_MODELS)
        owner = drivers[number % len(drivers)]
        color = "green" if electric else "blue"
        vehicles.append(VehiclePlan(factory.plate(electric=electric), color, model, owner))
    return vehicles


def draw_households(factory: PeopleFactory, plan: CompoundPlan) -> list[HouseholdPlan]:
    """Every occupied flat of a compound, building by building, unit by unit, floor by floor."""
    rng = factory.rng
    kinds, weights = zip(*_KINDS, strict=True)
    households = []
    for building in plan.building_names():
        for unit in plan.unit_names():
            for room in plan.rooms():
                if rng.random() >= plan.occupancy:
                    continue
                kind = rng.choices(kinds, weights=weights)[0]
                people = _draw_family(factory, kind, plan)
                household = HouseholdPlan(plan.code, building, unit, room, people)
                household.vehicles = _draw_vehicles(factory, kind, people)
                households.append(household)
    return households
