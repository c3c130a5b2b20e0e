"""A small registry tree: two communities, three compounds, a grid, four households, two vehicles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import (
    Building,
    Community,
    Compound,
    Grid,
    Household,
    Street,
    Unit,
    Vehicle,
)
from jiayuan.registry.schemas import ResidentIn
from jiayuan.registry.validation import id_check_digit


def make_id(born: date, serial: int, *, region: str = "410181") -> str:
    """A valid ID number; an odd `serial` is a man, an even one a woman."""
    first17 = f"{region}{born:%Y%m%d}{serial:03d}"
    return first17 + id_check_digit(first17)


def person(name: str, born: date, serial: int, **extra: Any) -> ResidentIn:
    """Validated resident data whose gender and birth date agree with the ID number."""
    return ResidentIn(
        name=name,
        id_number=make_id(born, serial),
        gender="男" if serial % 2 else "女",
        birth_date=born,
        **extra,
    )


@dataclass
class Tree:
    """Ids of the test tree."""

    community: Community
    other_community: Community
    jinjiang: Compound
    senhai: Compound
    far: Compound
    b1: Building
    b2: Building
    b_far: Building
    h101: Household
    h102: Household
    h201: Household
    h_far: Household
    grid: Grid

    def staff(self, role: Role = Role.STAFF) -> Principal:
        """Staff (or admin) of the main community."""
        return Principal(role=role, user_id=1, username="staff", community_ids=frozenset({self.community.id}))


def build_tree(db: Session) -> Tree:
    """紫荆路社区 (锦江花园 1号楼 1单元 101/102, 森海一期 1号楼 1单元 201, grid over 锦江花园 1号楼)
    and 桐本南路社区 (远方小区 1号楼 1单元 301)."""
    street = Street(name="紫荆路街道", city="巩义市")
    community = Community(street=street, name="紫荆路社区")
    other_street = Street(name="杜甫路街道", city="巩义市")
    other = Community(street=other_street, name="桐本南路社区")
    jinjiang = Compound(community=community, name="锦江花园", code="JJHY")
    senhai = Compound(community=community, name="森海一期", code="SH1")
    far = Compound(community=other, name="远方小区", code="YF")
    b1 = Building(compound=jinjiang, name="1号楼")
    b2 = Building(compound=senhai, name="1号楼")
    b_far = Building(compound=far, name="1号楼")
    u1, u2, u_far = (
        Unit(building=b1, name="1单元"),
        Unit(building=b2, name="1单元"),
        Unit(building=b_far, name="1单元"),
    )
    h101, h102 = Household(unit=u1, room="101"), Household(unit=u1, room="102")
    h201, h_far = Household(unit=u2, room="201"), Household(unit=u_far, room="301")
    db.add_all([street, other_street, h101, h102, h201, h_far])
    db.flush()
    grid = Grid(community_id=community.id, name="第一网格", buildings=[b1])
    db.add(grid)
    db.add(Vehicle(plate="豫A12345", color="白", household=h101))
    db.add(Vehicle(plate="豫AD98765", color="黑", household=h201))
    db.commit()
    return Tree(community, other, jinjiang, senhai, far, b1, b2, b_far, h101, h102, h201, h_far, grid)
