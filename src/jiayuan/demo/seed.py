"""Write the demo community into an empty registry, in one transaction, the same way every time."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service.audit import record_audit
from jiayuan.accounts.service.users import create_user
from jiayuan.db.base import table_of
from jiayuan.db.bulk import insert_returning_ids
from jiayuan.demo.accounts import DEMO_ACCOUNTS, RESIDENT_HOME, DemoAccount
from jiayuan.demo.cases import seed_cases
from jiayuan.demo.duty import extend_rosters, seed_rosters
from jiayuan.demo.layout import (
    CITY,
    COMPOUNDS,
    GATE_DEVICES,
    GRIDS,
    MAIN_COMMUNITY,
    MAIN_STREET,
    PATROL_CHECKLIST,
    SHOP_COMMUNITY,
    SHOP_STREET,
)
from jiayuan.demo.people import HouseholdPlan, PeopleFactory, PersonPlan, draw_households
from jiayuan.demo.shops import LENGTH_M, SECTIONS, STREET_NAME, WIDTH_M, draw_shops
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal
from jiayuan.kernel.progress import Progress, Silent
from jiayuan.patrol import service as patrol
from jiayuan.patrol.schemas import PlanCameraIn, PlanIn
from jiayuan.registry.models import (
    Building,
    Community,
    Compound,
    Device,
    Gate,
    Grid,
    Household,
    Resident,
    ResidentTag,
    Shop,
    ShopStreet,
    Street,
    StreetSection,
    Unit,
    Vehicle,
)
from jiayuan.registry.schemas import Place, ResidentIn
from jiayuan.registry.service.residents import PHONE_CONTEXT, resident_columns

# The one seed of the demo: change it and every name, ID number and plate changes.
DEMO_SEED = 20261127
# The marker that says the demo is already loaded: the first compound's code.
MARKER_COMPOUND = COMPOUNDS[0].code


@dataclass(frozen=True)
class SeedResult:
    """What seeding did: `created` is False when the demo data was already there."""

    created: bool
    households: int = 0
    residents: int = 0
    vehicles: int = 0
    shops: int = 0
    users: int = 0


def demo_present(session: Session) -> bool:
    """Whether the demo community has been loaded into this database already."""
    return session.scalar(select(Compound.id).where(Compound.code == MARKER_COMPOUND)) is not None


def seed_demo(
    session: Session, *, vault: PiiVault, progress: Progress | None = None, actor: Principal | None = None
) -> SeedResult:
    """Load the demo data unless it is present; the caller's transaction commits it all or nothing.

    `actor` is who the audit log names (the platform itself by default, the operator from the CLI).
    """
    actor = actor or Principal.system()
    if demo_present(session):
        return SeedResult(created=False)
    bar = progress or Silent()
    rng = random.Random(DEMO_SEED)
    factory = PeopleFactory(rng)
    plans = [(plan, draw_households(factory, plan)) for plan in COMPOUNDS]
    shops = draw_shops(rng, factory.phone)

    main = _community(session, MAIN_STREET, MAIN_COMMUNITY)
    compounds: dict[str, Compound] = {}
    units: dict[tuple[str, str, str], Unit] = {}
    buildings: dict[tuple[str, str], Building] = {}
    for plan, _households in plans:
        compound = Compound(community_id=main.id, name=plan.name, code=plan.code, address=plan.address)
        session.add(compound)
        compounds[plan.code] = compound
        for building_name in plan.building_names():
            building = Building(compound=compound, name=building_name, floors=plan.floors)
            buildings[(plan.code, building_name)] = building
            session.add(building)
            for unit_name in plan.unit_names():
                unit = Unit(building=building, name=unit_name)
                units[(plan.code, building_name, unit_name)] = unit
                session.add(unit)
    session.flush()

    total_households = sum(len(households) for _plan, households in plans)
    bar.stage("住户与居民", total_households)
    counts = {"residents": 0, "vehicles": 0}
    homes: dict[tuple[str, str, str, str], int] = {}
    for _plan, households in plans:
        for chunk in _chunks(households, 250):
            written = _write_households(session, vault, units, chunk)
            homes.update(written)
            counts["residents"] += sum(len(h.people) for h in chunk)
            counts["vehicles"] += sum(len(h.vehicles) for h in chunk)
            bar.advance(len(chunk))

    bar.stage("网格、出入口与设备", len(GRIDS) + len(COMPOUNDS))
    grids = _write_grids(session, main, buildings)
    bar.advance(len(GRIDS))
    _write_gates(session, compounds)
    _write_patrol(session, main.id)
    bar.advance(len(COMPOUNDS))

    bar.stage("园丁街商铺", len(shops))
    shop_community = _community(session, SHOP_STREET, SHOP_COMMUNITY)
    street = ShopStreet(community_id=shop_community.id, name=STREET_NAME, length_m=LENGTH_M, width_m=WIDTH_M)
    session.add(street)
    session.flush()
    sections = {name: StreetSection(street_id=street.id, name=name) for name, _count in SECTIONS}
    session.add_all(sections.values())
    session.flush()
    for shop in shops:
        session.add(
            Shop(
                section_id=sections[shop.section].id,
                number=shop.number,
                name=shop.name,
                business=shop.business,
                operator_name=shop.operator_name,
                operator_phone_cipher=vault.encrypt(shop.operator_phone, context=PHONE_CONTEXT),
                operator_phone_tail=shop.operator_phone[-4:],
            )
        )
    session.flush()
    bar.advance(len(shops))

    bar.stage("账号", len(DEMO_ACCOUNTS))
    communities = {MAIN_COMMUNITY: main.id, SHOP_COMMUNITY: shop_community.id}
    users: dict[str, int] = {}
    for account in DEMO_ACCOUNTS:
        user = create_user(
            session,
            actor=actor,
            username=account.username,
            display_name=account.display_name,
            role=account.role,
            password=account.password,
            scopes=_scopes(session, account, communities, compounds, grids, homes),
        )
        users[account.username] = user.id
        for grid in grids.values():
            if account.grids == (grid.name,):
                grid.worker_user_id = user.id
        bar.advance()
    session.flush()

    bar.stage("值班表", 1)
    seed_rosters(session, actor=actor, community_id=main.id, users=users)
    extend_rosters(session, actor=actor, today=local(utcnow()).date())
    bar.advance()

    bar.stage("事件", 1)
    seed_cases(session, home_id=homes[RESIDENT_HOME])
    bar.advance()

    result = SeedResult(
        created=True,
        households=total_households,
        residents=counts["residents"],
        vehicles=counts["vehicles"],
        shops=len(shops),
        users=len(DEMO_ACCOUNTS),
    )
    record_audit(
        session,
        actor=actor,
        action="demo.seed",
        target_type="community",
        target_id=main.id,
        target_label=MAIN_COMMUNITY,
        community_id=main.id,
        detail={"seed": DEMO_SEED, "households": result.households, "residents": result.residents},
    )
    return result


def resident_phone(session: Session, *, vault: PiiVault) -> tuple[str, str] | None:
    """`(mobile, name)` a demo resident signs in to /h5 with: the first member with a phone of the resident
    account's flat (None before the demo is loaded)."""
    code, building, unit, room = RESIDENT_HOME
    row = session.execute(
        select(Resident.phone_cipher, Resident.name)
        .join(Household, Resident.household_id == Household.id)
        .join(Unit, Household.unit_id == Unit.id)
        .join(Building, Unit.building_id == Building.id)
        .join(Compound, Building.compound_id == Compound.id)
        .where(
            Compound.code == code,
            Building.name == building,
            Unit.name == unit,
            Household.room == room,
            Resident.phone_cipher.is_not(None),
        )
        .order_by(Resident.id)
        .limit(1)
    ).first()
    if row is None or row[0] is None:
        return None
    return vault.decrypt(row[0], context=PHONE_CONTEXT), row[1]


def _community(session: Session, street_name: str, community_name: str) -> Community:
    street = Street(name=street_name, city=CITY)
    community = Community(street=street, name=community_name)
    session.add_all([street, community])
    session.flush()
    return community


def _chunks(items: list[HouseholdPlan], size: int) -> Iterable[list[HouseholdPlan]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _write_households(
    session: Session,
    vault: PiiVault,
    units: dict[tuple[str, str, str], Unit],
    plans: list[HouseholdPlan],
) -> dict[tuple[str, str, str, str], int]:
    """Households, residents, tags and vehicles as bulk inserts (the ORM unit of work is too slow here).

    Each resident's stored columns come from the registry's own `resident_columns` (which
    `add_resident` writes through), so the rows are exactly what it stores: encrypted, hashed,
    tails and pinyin.
    """
    household_ids = insert_returning_ids(
        session, _HOUSEHOLDS, [{"unit_id": units[_unit_key(p)].id, "room": p.room} for p in plans]
    )
    people: list[dict[str, Any]] = []
    people_tags: list[list[str]] = []
    for plan, household_id in zip(plans, household_ids, strict=True):
        building = units[_unit_key(plan)].building
        place = Place(
            community_id=building.compound.community_id,
            compound_id=building.compound_id,
            building_id=building.id,
        )
        for person in plan.people:
            row, person_tags = _resident_row(vault, person, place)
            people.append(row | {"household_id": household_id})
            people_tags.append(person_tags)
    resident_ids = insert_returning_ids(session, _RESIDENTS, people)
    tags = [
        {"resident_id": resident_id, "tag": tag}
        for resident_id, person_tags in zip(resident_ids, people_tags, strict=True)
        for tag in person_tags
    ]
    vehicles: list[dict[str, Any]] = []
    next_ids = iter(resident_ids)
    for plan, household_id in zip(plans, household_ids, strict=True):
        ids = [next(next_ids) for _person in plan.people]
        vehicles += [
            {
                "plate": vehicle.plate,
                "color": vehicle.color,
                "model": vehicle.model,
                "household_id": household_id,
                "owner_id": ids[vehicle.owner_index],
            }
            for vehicle in plan.vehicles
        ]
    if tags:
        session.connection().execute(insert(_RESIDENT_TAGS), tags)
    if vehicles:
        session.connection().execute(insert(_VEHICLES), vehicles)
    return {_home_key(plan): household_id for plan, household_id in zip(plans, household_ids, strict=True)}


def _unit_key(plan: HouseholdPlan) -> tuple[str, str, str]:
    return plan.compound, plan.building, plan.unit


def _home_key(plan: HouseholdPlan) -> tuple[str, str, str, str]:
    return plan.compound, plan.building, plan.unit, plan.room


_HOUSEHOLDS = table_of(Household)
_RESIDENTS = table_of(Resident)
_RESIDENT_TAGS = table_of(ResidentTag)
_VEHICLES = table_of(Vehicle)


def _resident_row(vault: PiiVault, person: PersonPlan, place: Place) -> tuple[dict[str, Any], list[str]]:
    """The column values and tags the registry stores for this person living at `place`."""
    data = ResidentIn.model_validate(
        {
            "name": person.name,
            "id_number": person.id_number,
            "gender": person.gender,
            "birth_date": person.birth_date,
            "phone": person.phone,
            "relation": person.relation,
            "residence_type": person.residence_type,
            "tags": list(person.tags),
            "moved_in_on": person.moved_in_on,
        }
    )
    return resident_columns(vault=vault, data=data, place=place), [tag.value for tag in data.tags]


def _write_grids(
    session: Session, community: Community, buildings: dict[tuple[str, str], Building]
) -> dict[str, Grid]:
    grids = {}
    for name, code, first, last in GRIDS:
        covered = [buildings[(code, f"{number}号楼")] for number in range(first, last + 1)]
        grids[name] = Grid(community_id=community.id, name=name, buildings=covered)
    session.add_all(grids.values())
    session.flush()
    return grids


def _write_gates(session: Session, compounds: dict[str, Compound]) -> None:
    for plan in COMPOUNDS:
        compound = compounds[plan.code]
        gate = Gate(compound_id=compound.id, code=f"{plan.code}-gate1", name=f"{plan.name}{plan.gate}")
        session.add(gate)
        session.flush()
        for suffix, kind, label in GATE_DEVICES:
            session.add(
                Device(
                    id=f"{gate.code}-{suffix}",
                    gate_id=gate.id,
                    kind=kind,
                    name=f"{gate.name}{label}",
                    config={},
                )
            )
    session.flush()


def _write_patrol(session: Session, community_id: int) -> None:
    """The night patrol over every gate's 360° camera, every two hours (视频巡查)."""
    patrol.create_plan(
        session,
        actor=Principal.system(),
        data=PlanIn(
            community_id=community_id,
            name="夜间视频巡查",
            every_minutes=120,
            window_start="20:00",
            window_end="06:00",
            cameras=[
                PlanCameraIn(device_id=f"{plan.code}-gate1-cam360", checklist=list(PATROL_CHECKLIST))
                for plan in COMPOUNDS
            ],
        ),
    )


def _scopes(
    session: Session,
    account: DemoAccount,
    communities: dict[str, int],
    compounds: dict[str, Compound],
    grids: dict[str, Grid],
    homes: dict[tuple[str, str, str, str], int],
) -> list[tuple[ScopeKind, int]]:
    scopes = [(ScopeKind.COMMUNITY, communities[name]) for name in account.communities]
    # Every account also belongs to the community it works in, so that community's admin manages it.
    belongs = {compounds[code].community_id for code in account.compounds}
    belongs |= {grids[name].community_id for name in account.grids}
    if account.home is not None:
        belongs.add(compounds[account.home[0]].community_id)
    scopes += [(ScopeKind.COMMUNITY, c) for c in sorted(belongs) if (ScopeKind.COMMUNITY, c) not in scopes]
    scopes += [(ScopeKind.COMPOUND, compounds[code].id) for code in account.compounds]
    scopes += [(ScopeKind.GRID, grids[name].id) for name in account.grids]
    if account.home is not None:
        home = homes.get(account.home) or min(homes.values())
        head = session.scalar(
            select(Resident.id).where(Resident.household_id == home).order_by(Resident.id).limit(1)
        )
        scopes.append((ScopeKind.HOUSEHOLD, home))
        if head is not None:
            scopes.append((ScopeKind.PERSON, head))
    return scopes


__all__ = ["DEMO_SEED", "RESIDENT_HOME", "SeedResult", "demo_present", "resident_phone", "seed_demo"]
