"""Test data builders: registry trees, gates and devices, residents, users with scopes and their tokens.

Each builder writes through the session it is given and commits (those that only flush say so), so
what it made is visible to the app and services of the test; ids come back for the test to use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.schemas import parse_scope
from jiayuan.accounts.service import tokens, users
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import (
    Building,
    Community,
    Compound,
    Device,
    Gate,
    Grid,
    Household,
    Resident,
    Street,
    Unit,
    Vehicle,
)
from jiayuan.registry.schemas import ResidentIn
from jiayuan.registry.validation import id_check_digit

PASSWORD = "correct-horse-42"
GATE1_DEVICES = ("qr", "plate", "cam", "sos", "door", "speaker")


# --- people ---------------------------------------------------------------------------------------


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


# --- registry trees -------------------------------------------------------------------------------


@dataclass
class Tree:
    """The registry tree of `build_tree`."""

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
    and 桐本南路社区 (远方小区 1号楼 1单元 301); a car in 101 and one in 201."""
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
    grid = add_grid(db, community.id, "第一网格", [b1])
    db.add(Vehicle(plate="豫A12345", color="白", household=h101))
    db.add(Vehicle(plate="豫AD98765", color="黑", household=h201))
    db.commit()
    return Tree(community, other, jinjiang, senhai, far, b1, b2, b_far, h101, h102, h201, h_far, grid)


def one_household(session: Session, *, room: str = "101") -> Household:
    """紫荆路社区 锦江花园 1号楼 1单元 `room`, flushed (its unit, compound and community are loaded)."""
    community = Community(street=Street(name="紫荆路街道", city="巩义市"), name="紫荆路社区")
    compound = Compound(community=community, name="锦江花园", code="jjhy")
    household = Household(
        unit=Unit(building=Building(compound=compound, name="1号楼"), name="1单元"), room=room
    )
    session.add(household)
    session.flush()
    return household


def add_grid(session: Session, community_id: int, name: str, buildings: Iterable[Building] = ()) -> Grid:
    """A grid of the community over these buildings, flushed."""
    grid = Grid(community_id=community_id, name=name, buildings=list(buildings))
    session.add(grid)
    session.flush()
    return grid


# --- gates and devices ----------------------------------------------------------------------------


def add_gate(
    session: Session, compound: Compound, code: str, name: str, devices: Iterable[tuple[str, str, str]] = ()
) -> Gate:
    """A gate of the compound with its devices, each (device id, kind, name), flushed."""
    gate = Gate(compound=compound, code=code, name=name)
    session.add(gate)
    session.add_all(Device(id=id_, gate=gate, kind=kind, name=label) for id_, kind, label in devices)
    session.flush()
    return gate


def add_device(
    session: Session, gate_id: int | None, device_id: str, kind: str, name: str, *, enabled: bool = True
) -> Device:
    """A device at the gate (`None`: at no gate), flushed."""
    device = Device(id=device_id, gate_id=gate_id, kind=kind, name=name, enabled=enabled)
    session.add(device)
    session.flush()
    return device


@dataclass(frozen=True)
class Site:
    """Ids of what `seed_site` created."""

    community_id: int
    compound_id: int
    gate_id: int
    gate2_id: int
    other_community_id: int


def seed_site(session: Session) -> Site:
    """锦江花园 with gate 1 (all device kinds) and gate 2 (a QR reader), plus a second community."""
    street = Street(name="紫荆路街道", city="巩义市")
    community = Community(street=street, name="紫荆路社区")
    other = Community(street=street, name="桐本南路社区")
    compound = Compound(community=community, name="锦江花园", code="jjhy")
    session.add_all([street, community, other, compound])
    gate1_devices = [(f"jjhy-gate1-{kind}", kind, f"1号门 {kind}") for kind in GATE1_DEVICES]
    gate1 = add_gate(session, compound, "jjhy-gate1", "1号门", gate1_devices)
    gate2 = add_gate(session, compound, "jjhy-gate2", "2号门", [("jjhy-gate2-qr", "qr", "2号门 扫码")])
    add_device(session, gate2.id, "jjhy-old-qr", "qr", "停用读头", enabled=False)
    session.commit()
    return Site(community.id, compound.id, gate1.id, gate2.id, other.id)


def add_compound(
    session: Session, community_id: int, name: str, code: str, *, gate: str | None = None, qr: bool = False
) -> int:
    """A compound of the community, with a gate `{code}-gate1` named `gate` (and its QR reader); its id."""
    compound = Compound(community_id=community_id, name=name, code=code)
    session.add(compound)
    session.flush()
    if gate is not None:
        reader = [(f"{code}-gate1-qr", "qr", f"{gate} 扫码")] if qr else []
        add_gate(session, compound, f"{code}-gate1", gate, reader)
    session.commit()
    return compound.id


def add_person(
    session: Session, compound_id: int, *, room: str = "101", name: str = "张三"
) -> tuple[int, int]:
    """A household with one resident in the compound's 1号楼 1单元; returns (household_id, person_id)."""
    building = session.scalars(
        select(Building).filter_by(compound_id=compound_id, name="1号楼")
    ).one_or_none()
    if building is None:
        building = Building(compound_id=compound_id, name="1号楼")
        unit = Unit(building=building, name="1单元")
        session.add_all([building, unit])
        session.flush()
    unit = building.units[0]
    household = Household(unit_id=unit.id, room=room)
    session.add(household)
    session.flush()
    community_id = session.get_one(Compound, compound_id).community_id
    resident = Resident(
        household_id=household.id, community_id=community_id, compound_id=compound_id,
        building_id=building.id, name=name, name_pinyin="zhangsan", name_initials="zs", gender="男",
        birth_date=date(1980, 1, 1), id_number_cipher="x", id_number_hash=f"h{household.id}{room}",
        id_tail="0000", relation="户主", residence_type="户籍",
    )  # fmt: skip
    session.add(resident)
    session.commit()
    return household.id, resident.id


# --- accounts -------------------------------------------------------------------------------------


def make_user(
    sessions: sessionmaker[Session],
    username: str,
    role: Role,
    *,
    scopes: Iterable[str] = (),
    password: str | None = PASSWORD,
) -> int:
    """Create a user through the service (as the system), scopes as `kind:id`; returns its id."""
    with unit_of_work(sessions) as session:
        user = users.create_user(
            session,
            actor=Principal.system(),
            username=username,
            display_name=username,
            role=role,
            password=password,
            scopes=[parse_scope(s) for s in scopes],
        )
        return user.id


def bearer_for(sessions: sessionmaker[Session], username: str, role: Role, *scopes: str) -> dict[str, str]:
    """The Authorization header of a new user with this role and these scopes."""
    return {
        "Authorization": f"Bearer {token_for(sessions, make_user(sessions, username, role, scopes=scopes))}"
    }


def token_for(sessions: sessionmaker[Session], user_id: int, name: str = "测试") -> str:
    """A bearer token for a user, issued by the system."""
    with unit_of_work(sessions) as session:
        return tokens.issue_api_token(session, actor=Principal.system(), user_id=user_id, name=name)


def device_token(sessions: sessionmaker[Session], device_id: str) -> str:
    """A bearer token for a device, issued by the system."""
    with unit_of_work(sessions) as session:
        return tokens.issue_api_token(session, actor=Principal.system(), device_id=device_id, name="网关")
