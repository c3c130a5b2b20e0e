"""Counts of the registry per level (社区底数统计), overall and per community, inside the actor's scope."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from jiayuan.kernel.principal import Principal
from jiayuan.registry import policies, repository
from jiayuan.registry.models import (
    Building,
    Community,
    Compound,
    Household,
    Resident,
    Shop,
    ShopStreet,
    Street,
    StreetSection,
    Unit,
    Vehicle,
)
from jiayuan.registry.schemas import CommunityCounts, Counts, RegistryStats, today


def registry_stats(session: Session, *, actor: Principal) -> RegistryStats:
    """The counts the actor may see: whole communities for office roles, their part for the others."""
    scope = policies.structure_scope(actor)
    where = repository.scope_clause(scope)
    whole_communities = scope.everything or bool(scope.community_ids)
    tree = (
        select(Community.id, Community.name, Street.name)
        .join(Street, Street.id == Community.street_id)
        .outerjoin(Compound, Compound.community_id == Community.id)
        .outerjoin(Building, Building.compound_id == Compound.id)
        .outerjoin(Unit, Unit.building_id == Building.id)
        .outerjoin(Household, Household.unit_id == Unit.id)
    )
    levels = tree.add_columns(
        func.count(Compound.id.distinct()),
        func.count(Building.id.distinct()),
        func.count(Unit.id.distinct()),
        func.count(Household.id.distinct()),
    )
    if whole_communities and not scope.everything:
        levels = levels.where(Community.id.in_(sorted(scope.community_ids)))
    elif not scope.everything:
        levels = levels.where(where)
    levels = levels.group_by(Community.id, Community.name, Street.name).order_by(Community.id)

    communities: dict[int, CommunityCounts] = {}
    for community_id, name, street, compounds, buildings, units, households in session.execute(levels):
        communities[community_id] = CommunityCounts(
            id=community_id,
            name=name,
            street=street,
            compounds=compounds,
            buildings=buildings,
            units=units,
            households=households,
        )
    current = or_(Resident.moved_out_on.is_(None), Resident.moved_out_on > today())
    residents = (
        repository.with_tree(
            select(Community.id, func.count(Resident.id)).select_from(Resident).join(Household)
        )
        .where(where, current)
        .group_by(Community.id)
    )
    vehicles = (
        repository.with_tree(
            select(Community.id, func.count(Vehicle.id)).select_from(Vehicle).join(Household)
        )
        .where(where)
        .group_by(Community.id)
    )
    for community_id, count in session.execute(residents):
        communities[community_id].residents = count
    for community_id, count in session.execute(vehicles):
        communities[community_id].vehicles = count
    if whole_communities:
        shops = (
            select(ShopStreet.community_id, func.count(Shop.id))
            .join(StreetSection, StreetSection.street_id == ShopStreet.id)
            .join(Shop, Shop.section_id == StreetSection.id)
            .group_by(ShopStreet.community_id)
        )
        for community_id, count in session.execute(shops):
            if community_id in communities:
                communities[community_id].shops = count
    listed = list(communities.values())
    return RegistryStats(communities=listed, total=_total(listed))


def _total(rows: Iterable[Counts]) -> Counts:
    total = Counts()
    for row in rows:
        total = total.add(row)
    return total
