"""Queries of the registry: where things sit in the tree, scoped selects, search conditions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, lazyload

from jiayuan.registry.models import (
    Building,
    Community,
    Compound,
    Household,
    Resident,
    ResidentTag,
    Unit,
    Vehicle,
    grid_buildings,
)
from jiayuan.registry.names import DOT, GRAM_MAX, pinyin_variants
from jiayuan.registry.policies import Location, Scope
from jiayuan.registry.schemas import Address
from jiayuan.registry.search import PROVINCES, Query, QueryKind

# The columns that make an Address, in a fixed order.
ADDRESS_COLUMNS = (
    Community.id,
    Community.name,
    Compound.id,
    Compound.name,
    Building.id,
    Building.name,
    Unit.id,
    Unit.name,
    Household.id,
    Household.room,
)


def escape_like(text: str) -> str:
    """Escape LIKE wildcards (the escape character is a backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_S = TypeVar("_S", bound="Select[*tuple[Any, ...]]")


def with_tree(stmt: _S) -> _S:
    """Join a select on residents, households or vehicles up to the community."""
    return (
        stmt.join(Unit, Unit.id == Household.unit_id)
        .join(Building, Building.id == Unit.building_id)
        .join(Compound, Compound.id == Building.compound_id)
        .join(Community, Community.id == Compound.community_id)
    )


def scope_clause(scope: Scope) -> ColumnElement[bool]:
    """The SQL condition (over the joined tree) that keeps rows inside a scope."""
    if scope.everything:
        return true()
    parts: list[ColumnElement[bool]] = []
    if scope.community_ids:
        parts.append(Community.id.in_(sorted(scope.community_ids)))
    if scope.compound_ids:
        parts.append(Building.compound_id.in_(sorted(scope.compound_ids)))
    if scope.grid_ids:
        covered = select(grid_buildings.c.building_id).where(
            grid_buildings.c.grid_id.in_(sorted(scope.grid_ids))
        )
        parts.append(Building.id.in_(covered))
    if scope.household_ids:
        parts.append(Household.id.in_(sorted(scope.household_ids)))
    return or_(*parts) if parts else false()


def tree_rows(column: Any, where: ColumnElement[bool]) -> Select[Any]:
    """`column` of every path community → compound → building → unit → household (outer joins) matching."""
    return (
        select(column)
        .select_from(Community)
        .outerjoin(Compound, Compound.community_id == Community.id)
        .outerjoin(Building, Building.compound_id == Compound.id)
        .outerjoin(Unit, Unit.building_id == Building.id)
        .outerjoin(Household, Household.unit_id == Unit.id)
        .where(where)
    )


def visible_clause(id_column: Any, scope: Scope) -> ColumnElement[bool]:
    """Rows of one tree level that lie in, or lead to, a part of the scope."""
    if scope.everything:
        return true()
    return id_column.in_(tree_rows(id_column, scope_clause(scope)).distinct())  # type: ignore[no-any-return]


def address_from_row(row: Sequence[object]) -> Address:
    """An Address from the ADDRESS_COLUMNS part of a result row."""
    keys = ["community_id", "community", "compound_id", "compound", "building_id", "building", "unit_id"]
    keys += ["unit", "household_id", "room"]
    return Address.model_validate(dict(zip(keys, row, strict=True)))


def household_address(session: Session, household_id: int) -> Address | None:
    """The address of a household, or None when there is no such household."""
    stmt = with_tree(select(*ADDRESS_COLUMNS)).where(Household.id == household_id)
    row = session.execute(stmt).first()
    return address_from_row(tuple(row)) if row else None


def building_grids(session: Session, building_id: int) -> frozenset[int]:
    """The grids that cover a building."""
    stmt = select(grid_buildings.c.grid_id).where(grid_buildings.c.building_id == building_id)
    return frozenset(session.scalars(stmt))


def location_of(session: Session, address: Address) -> Location:
    """The scope-relevant position of an address."""
    return Location(
        community_id=address.community_id,
        compound_id=address.compound_id,
        building_id=address.building_id,
        household_id=address.household_id,
        grid_ids=building_grids(session, address.building_id),
    )


def resident_by_id_hash(session: Session, id_hash: str) -> Resident | None:
    """The resident with this ID-number lookup hash."""
    return session.scalar(select(Resident).where(Resident.id_number_hash == id_hash))


def _inline(value: str) -> Any:
    """A value written into the SQL text rather than sent as a parameter.

    Prefix patterns must reach the PostgreSQL planner as constants: a prepared statement's generic
    plan cannot turn `LIKE $1` into an index range and scans the whole table. The values here are
    already restricted to letters, digits and Han characters by `parse_query`.
    """
    return bindparam(None, value, type_=String, literal_execute=True)


def _bare_name() -> ColumnElement[str]:
    """The stored name without its middle dots (names are stored with one form of dot)."""
    return func.replace(Resident.name, DOT, "")


def _has_any_key(variants: list[str], *, dialect: str) -> ColumnElement[bool]:
    """Residents with one of these strings among their pinyin keys."""
    if dialect == "postgresql":
        keys = type_coerce(Resident.name_keys, postgresql.ARRAY(String))
        wanted = postgresql.array([_inline(v) for v in variants], type_=String)
        overlap: ColumnElement[bool] = keys.overlap(cast(wanted, postgresql.ARRAY(String)))
        return overlap
    # SQLite keeps the keys as a JSON array of letters: a quoted key is one whole element.
    stored = type_coerce(Resident.name_keys, String)
    return or_(*(stored.like(_inline(f'%"{v}"%')) for v in variants))


def match_clause(query: Query, *, dialect: str, lookup_hash: str | None) -> ColumnElement[bool]:
    """The condition on residents that a parsed search text stands for."""
    text = query.text
    if query.kind is QueryKind.NAME:
        contains = _bare_name().like(_inline(f"%{escape_like(text)}%"), escape="\\")
        if dialect != "postgresql":
            return contains
        grams = type_coerce(Resident.name_grams, postgresql.ARRAY(String))
        gram = postgresql.array([_inline(text[:GRAM_MAX])], type_=String)
        clause = grams.contains(cast(gram, postgresql.ARRAY(String)))
        return and_(clause, contains) if len(text) > GRAM_MAX else clause
    if query.kind is QueryKind.PINYIN:
        return _has_any_key(pinyin_variants(text), dialect=dialect)
    if query.kind is QueryKind.TAIL:
        return or_(Resident.phone_tail == _inline(text), Resident.id_tail == _inline(text))
    if query.kind is QueryKind.PHONE:
        return Resident.phone_hash == lookup_hash
    if query.kind is QueryKind.ID_NUMBER:
        return Resident.id_number_hash == lookup_hash
    plates: ColumnElement[bool]
    if query.kind is QueryKind.PLATE:
        plates = Vehicle.plate.like(_inline(f"{text}%"))
    else:
        # A plate typed without its province character: one index range per province.
        plates = or_(*(Vehicle.plate.like(_inline(f"{province}{text}%")) for province in PROVINCES))
    return Resident.household_id.in_(select(Vehicle.household_id).where(plates))


# Beyond this many matches the search reports "more than COUNT_CAP": counting every one of tens of
# thousands of matches of a two-letter query would cost more than the page itself.
COUNT_CAP = 200


def resident_scope_clause(session: Session, scope: Scope) -> ColumnElement[bool]:
    """Residents inside a scope, as a condition on the residents table alone.

    Each resident row carries its household's community, compound and building, so a community's
    staff filter on one indexed column instead of gathering the community's households per search.
    A grid's buildings (a few dozen) are looked up first and passed as constants.
    """
    if scope.everything:
        return true()
    parts: list[ColumnElement[bool]] = []
    if scope.community_ids:
        parts.append(Resident.community_id.in_(sorted(scope.community_ids)))
    if scope.compound_ids:
        parts.append(Resident.compound_id.in_(sorted(scope.compound_ids)))
    if scope.grid_ids:
        covered = select(grid_buildings.c.building_id).where(
            grid_buildings.c.grid_id.in_(sorted(scope.grid_ids))
        )
        buildings = sorted(set(session.scalars(covered)))
        if buildings:
            parts.append(Resident.building_id.in_(buildings))
    if scope.household_ids:
        parts.append(Resident.household_id.in_(sorted(scope.household_ids)))
    return or_(*parts) if parts else false()


def search_rows(
    session: Session,
    *,
    where: ColumnElement[bool],
    order_exact: str | None,
    offset: int,
    limit: int,
) -> tuple[int, bool, list[tuple[Resident, Address, list[str]]]]:
    """(total up to COUNT_CAP, whether that total is exact, one page of (resident, address, tags)).

    One round trip: the page's ids are chosen on the residents table alone (ordered by id, exact
    names first), then only those rows are joined to their addresses and tags; the capped count
    rides along as an uncorrelated subquery.
    """
    order: list[Any] = [Resident.id]
    if order_exact is not None:
        # Exact name matches first (False sorts before True).
        order.insert(0, _bare_name() != literal(order_exact))
    matching = select(Resident.id).where(where)
    counted = select(func.count()).select_from(matching.limit(COUNT_CAP + 1).subquery()).scalar_subquery()
    tags = (
        select(func.aggregate_strings(ResidentTag.tag, ","))
        .where(ResidentTag.resident_id == Resident.id)
        .scalar_subquery()
    )
    page_ids = matching.order_by(*order).offset(offset).limit(limit)
    stmt = (
        with_tree(
            select(Resident, counted, tags, *ADDRESS_COLUMNS).join(
                Household, Household.id == Resident.household_id
            )
        )
        .where(Resident.id.in_(page_ids))
        .order_by(*order)
        .options(lazyload(Resident.tags))
    )
    rows = session.execute(stmt).all()
    # An empty page means nothing matches, or the page lies past the end (then count apart).
    past_end = not rows and offset > 0
    capped = int(session.scalar(select(counted)) or 0) if past_end else int(rows[0][1]) if rows else 0
    page = [(row[0], address_from_row(tuple(row)[3:]), row[2].split(",") if row[2] else []) for row in rows]
    return min(capped, COUNT_CAP), capped <= COUNT_CAP, page


def residents_of(session: Session, household_ids: Sequence[int]) -> list[Resident]:
    """The residents of some households, by household and id."""
    if not household_ids:
        return []
    stmt = select(Resident).where(Resident.household_id.in_(household_ids))
    return list(session.scalars(stmt.order_by(Resident.household_id, Resident.id)))


def vehicles_where(
    session: Session, where: ColumnElement[bool], *, offset: int, limit: int
) -> tuple[int, list[tuple[Vehicle, Address]]]:
    """A page of vehicles (with their household's address) matching a condition over the tree."""
    base = with_tree(select(func.count()).select_from(Vehicle).join(Household)).where(where)
    total: int = session.scalar(base) or 0
    stmt = (
        with_tree(select(Vehicle, *ADDRESS_COLUMNS).join(Household, Household.id == Vehicle.household_id))
        .where(where)
        .order_by(Vehicle.plate)
        .offset(offset)
        .limit(limit)
    )
    rows = session.execute(stmt).all() if total > offset else []
    return total, [(row[0], address_from_row(tuple(row)[1:])) for row in rows]


def households_where(
    session: Session, where: ColumnElement[bool], *, offset: int, limit: int
) -> tuple[int, list[tuple[Household, Address, int]]]:
    """A page of households with address and member count, ordered by address."""
    members = select(func.count(Resident.id)).where(Resident.household_id == Household.id).scalar_subquery()
    total: int = session.scalar(with_tree(select(func.count()).select_from(Household)).where(where)) or 0
    stmt = (
        with_tree(select(Household, members, *ADDRESS_COLUMNS).select_from(Household))
        .where(where)
        .order_by(Compound.name, Building.name, Unit.name, Household.room)
        .offset(offset)
        .limit(limit)
    )
    rows = session.execute(stmt).all() if total > offset else []
    return total, [(row[0], address_from_row(tuple(row)[2:]), int(row[1])) for row in rows]
