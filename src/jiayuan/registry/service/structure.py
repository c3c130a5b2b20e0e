"""The registry tree in scope: communities down to households, vehicles, grids, shops, addresses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.errors import Invalid, NotFound
from jiayuan.kernel.i18n import N_
from jiayuan.kernel.paging import Page, PageParams
from jiayuan.kernel.principal import Principal
from jiayuan.registry import policies, repository
from jiayuan.registry.models import (
    Building,
    Community,
    Compound,
    Grid,
    Household,
    Shop,
    ShopStreet,
    StreetSection,
    Unit,
    Vehicle,
)
from jiayuan.registry.schemas import (
    Address,
    BuildingOut,
    CommunityOut,
    CompoundOut,
    GridOut,
    HouseholdOut,
    ShopOut,
    UnitOut,
    VehicleOut,
)
from jiayuan.registry.search import normalise_plate
from jiayuan.registry.service.residents import resident_out


def _structure(
    session: Session, actor: Principal, entity: Any, parent: tuple[Any, Any, int | None] | None, missing: str
) -> list[Any]:
    """Rows of one tree level in scope; `parent` = (parent model, foreign key column, parent id)."""
    scope = policies.structure_scope(actor)
    stmt = select(entity).where(repository.visible_clause(entity.id, scope))
    if parent is not None and parent[2] is not None:
        model, foreign_key, parent_id = parent
        visible = repository.visible_clause(model.id, scope)
        if session.scalar(select(model.id).where(model.id == parent_id, visible)) is None:
            raise NotFound(missing)
        stmt = stmt.where(foreign_key == parent_id)
    return list(session.scalars(stmt.order_by(entity.id)))


def list_communities(session: Session, *, actor: Principal) -> list[CommunityOut]:
    """Communities the actor works in (or that lead to their grids, compounds, household)."""
    rows = _structure(session, actor, Community, None, N_("社区不存在"))
    return [CommunityOut.model_validate(row) for row in rows]


def list_compounds(
    session: Session, *, actor: Principal, community_id: int | None = None
) -> list[CompoundOut]:
    """Compounds in scope, optionally of one community (404 if it is unknown or out of scope)."""
    rows = _structure(
        session, actor, Compound, (Community, Compound.community_id, community_id), N_("社区不存在")
    )
    return [CompoundOut.model_validate(row) for row in rows]


def list_buildings(
    session: Session, *, actor: Principal, compound_id: int | None = None
) -> list[BuildingOut]:
    """Buildings in scope, optionally of one compound."""
    rows = _structure(
        session, actor, Building, (Compound, Building.compound_id, compound_id), N_("小区不存在")
    )
    return [BuildingOut.model_validate(row) for row in rows]


def list_units(session: Session, *, actor: Principal, building_id: int | None = None) -> list[UnitOut]:
    """Units in scope, optionally of one building."""
    rows = _structure(session, actor, Unit, (Building, Unit.building_id, building_id), N_("楼栋不存在"))
    return [UnitOut.model_validate(row) for row in rows]


def list_households(
    session: Session, *, actor: Principal, unit_id: int | None = None, page: PageParams
) -> Page[HouseholdOut]:
    """Households in scope (members counted, not listed), optionally of one unit."""
    scope = policies.personal_scope(actor)
    where = repository.scope_clause(scope)
    if unit_id is not None:
        if (
            session.scalar(
                select(Unit.id).where(Unit.id == unit_id, repository.visible_clause(Unit.id, scope))
            )
            is None
        ):
            raise NotFound("单元不存在")
        where = where & (Household.unit_id == unit_id)
    total, rows = repository.households_where(session, where, offset=page.offset, limit=page.size)
    items = [
        HouseholdOut(id=h.id, unit_id=h.unit_id, room=h.room, address=address, member_count=count)
        for h, address, count in rows
    ]
    return Page[HouseholdOut](items=items, total=total, page=page.page, size=page.size)


def show_household(session: Session, *, actor: Principal, vault: PiiVault, household_id: int) -> HouseholdOut:
    """One household with its members (masked) and vehicles."""
    policies.personal_scope(actor)  # roles without registry access learn nothing, not even existence
    address = repository.household_address(session, household_id)
    if address is None:
        raise NotFound("户不存在")
    policies.require_readable(actor, repository.location_of(session, address), missing=N_("户不存在"))
    members = [
        resident_out(r, address, vault=vault, birth_day_shown=policies.may_reveal(actor))
        for r in repository.residents_of(session, [household_id])
    ]
    _total, vehicles = repository.vehicles_where(
        session, Vehicle.household_id == household_id, offset=0, limit=50
    )
    return HouseholdOut(
        id=household_id,
        unit_id=address.unit_id,
        room=address.room,
        address=address,
        member_count=len(members),
        members=members,
        vehicles=[_vehicle_out(v, a) for v, a in vehicles],
    )


def _vehicle_out(vehicle: Vehicle, address: Address) -> VehicleOut:
    return VehicleOut(
        id=vehicle.id,
        plate=vehicle.plate,
        color=vehicle.color,
        model=vehicle.model,
        household_id=vehicle.household_id,
        owner_id=vehicle.owner_id,
        address=address,
    )


def list_vehicles(
    session: Session, *, actor: Principal, plate: str | None = None, page: PageParams
) -> Page[VehicleOut]:
    """Vehicles in scope; `plate` matches from the start (with or without the province character)."""
    where = repository.scope_clause(policies.personal_scope(actor))
    wanted = normalise_plate(plate or "")
    if wanted:
        if len(wanted) > 16:
            raise Invalid("车牌最多 16 个字符", field="plate")
        prefix = repository.escape_like(wanted)
        where = where & (
            Vehicle.plate.like(f"{prefix}%", escape="\\") | Vehicle.plate.like(f"_{prefix}%", escape="\\")
        )
    total, rows = repository.vehicles_where(session, where, offset=page.offset, limit=page.size)
    return Page[VehicleOut](
        items=[_vehicle_out(v, a) for v, a in rows], total=total, page=page.page, size=page.size
    )


def list_grids(session: Session, *, actor: Principal, community_id: int | None = None) -> list[GridOut]:
    """Grids of the actor's communities (a grid worker: their own grids)."""
    scope = policies.structure_scope(actor)
    stmt = select(Grid).order_by(Grid.id)
    if not scope.everything:
        stmt = stmt.where(
            Grid.community_id.in_(sorted(scope.community_ids)) | Grid.id.in_(sorted(scope.grid_ids))
        )
    if community_id is not None:
        stmt = stmt.where(Grid.community_id == community_id)
    return [
        GridOut(
            id=g.id,
            community_id=g.community_id,
            name=g.name,
            worker_user_id=g.worker_user_id,
            building_ids=sorted(b.id for b in g.buildings),
        )
        for g in session.scalars(stmt)
    ]


def list_shops(
    session: Session, *, actor: Principal, community_id: int | None = None, page: PageParams
) -> Page[ShopOut]:
    """Shops on the commercial streets of the actor's communities; operator phones masked."""
    scope = policies.personal_scope(actor)
    stmt = (
        select(Shop, ShopStreet.name, StreetSection.name)
        .join(StreetSection, StreetSection.id == Shop.section_id)
        .join(ShopStreet, ShopStreet.id == StreetSection.street_id)
    )
    if not scope.everything:
        stmt = stmt.where(ShopStreet.community_id.in_(sorted(scope.community_ids)))
    if community_id is not None:
        stmt = stmt.where(ShopStreet.community_id == community_id)
    total: int = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(Shop.section_id, Shop.number, Shop.id).offset(page.offset).limit(page.size)
    )
    items = [
        ShopOut(
            id=shop.id,
            street=street,
            section=section,
            number=shop.number,
            name=shop.name,
            business=shop.business,
            operator_name=shop.operator_name,
            operator_phone_masked=f"*******{shop.operator_phone_tail}" if shop.operator_phone_tail else None,
        )
        for shop, street, section in rows
    ]
    return Page[ShopOut](items=items, total=total, page=page.page, size=page.size)
