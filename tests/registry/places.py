"""Checks shared by the tests of the place (community, compound, building) stored on residents."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, not_, select
from sqlalchemy.orm import Session

from jiayuan.kernel.principal import Principal
from jiayuan.registry import policies, repository
from jiayuan.registry.models import Building, Compound, Household, Resident, Unit


def misplaced(db: Session) -> list[int]:
    """Residents whose stored community, compound or building is not their household's."""
    agrees = and_(
        Resident.building_id == Unit.building_id,
        Resident.compound_id == Building.compound_id,
        Resident.community_id == Compound.community_id,
    )
    stmt = (
        select(Resident.id)
        .join(Household, Household.id == Resident.household_id)
        .join(Unit, Unit.id == Household.unit_id)
        .join(Building, Building.id == Unit.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .where(not_(agrees))
    )
    return list(db.scalars(stmt))


def in_scope_through_households(db: Session, actor: Principal, where: ColumnElement[bool]) -> list[int]:
    """Resident ids matching `where` whose household lies in the actor's scope, found through the tree."""
    scope = policies.personal_scope(actor)
    stmt = repository.with_tree(
        select(Resident.id).join(Household, Household.id == Resident.household_id)
    ).where(repository.scope_clause(scope), where)
    return sorted(db.scalars(stmt))


def in_scope_through_columns(db: Session, actor: Principal, where: ColumnElement[bool]) -> list[int]:
    """The same through the columns stored on residents (what search filters on)."""
    clause = repository.resident_scope_clause(db, policies.personal_scope(actor))
    return sorted(db.scalars(select(Resident.id).where(clause, where)))
