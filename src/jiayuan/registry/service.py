"""Use cases of the community registry: residents in, residents out (masked), search, reveal."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiayuan.accounts.service import actions_since, record_audit
from jiayuan.bus.bus import publish_on_commit
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault, mask_id_number, mask_phone
from jiayuan.kernel.errors import Conflict, Invalid, NotFound, TooManyRequests
from jiayuan.kernel.paging import Page, PageParams
from jiayuan.kernel.principal import Principal
from jiayuan.registry import policies, repository
from jiayuan.registry.events import ResidentAdded, ResidentUpdated
from jiayuan.registry.models import (
    Building,
    Community,
    Compound,
    Grid,
    Household,
    Resident,
    ResidentTag,
    Shop,
    ShopStreet,
    StreetSection,
    Unit,
    Vehicle,
)
from jiayuan.registry.names import name_columns
from jiayuan.registry.policies import Location
from jiayuan.registry.schemas import (
    REASON_MIN,
    Address,
    BuildingOut,
    CommunityOut,
    CompoundOut,
    Gender,
    GridOut,
    HouseholdOut,
    Place,
    Relation,
    ResidenceType,
    ResidentIn,
    ResidentOut,
    ResidentPage,
    ResidentPatch,
    RevealField,
    RevealIn,
    RevealOut,
    ShopOut,
    Tag,
    UnitOut,
    VehicleOut,
    age_on,
    parse_patch,
    today,
)
from jiayuan.registry.search import QueryKind, normalise_plate, parse_query

ID_CONTEXT = "id_number"
PHONE_CONTEXT = "phone"
_ADDRESS_LEVELS = {
    "community": "社区",
    "compound": "小区",
    "building": "楼栋",
    "unit": "单元",
    "room": "户（房号）",
}


def resident_columns(*, vault: PiiVault, data: ResidentIn, place: Place) -> dict[str, Any]:
    """The stored column values of a resident with this data living at `place`.

    Encrypted, hashed, tails, pinyin, and the household's community, compound and building (what
    scoped search filters on). The one place these are computed; bulk writers (the demo seeder)
    insert exactly these values.
    """
    phone = data.phone or None
    return {
        "community_id": place.community_id,
        "compound_id": place.compound_id,
        "building_id": place.building_id,
        "name": data.name,
        **name_columns(data.name),
        "gender": data.gender.value,
        "birth_date": data.birth_date,
        "id_number_cipher": vault.encrypt(data.id_number, context=ID_CONTEXT),
        "id_number_hash": vault.lookup_hash(data.id_number),
        "id_tail": data.id_number[-4:],
        "phone_cipher": vault.encrypt(phone, context=PHONE_CONTEXT) if phone else None,
        "phone_hash": vault.lookup_hash(phone) if phone else None,
        "phone_tail": phone[-4:] if phone else None,
        "relation": data.relation.value,
        "residence_type": data.residence_type.value,
        "moved_in_on": data.moved_in_on,
        "moved_out_on": data.moved_out_on,
        "note": data.note,
    }


def apply_resident_data(resident: Resident, *, vault: PiiVault, data: ResidentIn, place: Place) -> None:
    """Write validated data onto a resident living at `place` (no scope check, no flush)."""
    for column, value in resident_columns(vault=vault, data=data, place=place).items():
        setattr(resident, column, value)
    wanted = [tag.value for tag in data.tags]
    resident.tags = [t for t in resident.tags if t.tag in wanted] + [
        ResidentTag(tag=tag) for tag in wanted if tag not in {t.tag for t in resident.tags}
    ]


def _writable_household(session: Session, actor: Principal, household_id: int) -> tuple[Address, Location]:
    address = repository.household_address(session, household_id)
    if address is None:
        raise Invalid(f"户 #{household_id} 不存在", field="household_id")
    where = repository.location_of(session, address)
    try:
        policies.require_writable(actor, where, what="户")
    except NotFound:
        raise Invalid(f"户 #{household_id} 不存在", field="household_id") from None
    return address, where


def _ensure_unique_person(
    session: Session, vault: PiiVault, id_number: str, *, other_than: int | None
) -> None:
    existing = repository.resident_by_id_hash(session, vault.lookup_hash(id_number))
    if existing is not None and existing.id != other_than:
        raise Conflict("该身份证号已登记，同一人不能重复登记", field="id_number")


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        # Two writers raced past the check above; the unique hash index decided.
        raise Conflict("该身份证号已登记，同一人不能重复登记", field="id_number") from exc


def add_resident(
    session: Session, *, actor: Principal, vault: PiiVault, household_id: int, data: ResidentIn
) -> Resident:
    """Register a person in a household (admin/staff of its community); the ID number must be new."""
    address, _where = _writable_household(session, actor, household_id)
    _ensure_unique_person(session, vault, data.id_number, other_than=None)
    resident = Resident(household_id=household_id, tags=[])
    apply_resident_data(resident, vault=vault, data=data, place=address.place)
    session.add(resident)
    _flush(session)
    record_audit(
        session,
        actor=actor,
        action="resident.create",
        target_type="resident",
        target_id=resident.id,
        target_label=resident.name,
        community_id=address.community_id,
        detail={"household_id": household_id},
    )
    publish_on_commit(
        session,
        ResidentAdded(community_id=address.community_id, resident_id=resident.id, household_id=household_id),
    )
    return resident


def _load(session: Session, actor: Principal, resident_id: int) -> tuple[Resident, Address, Location]:
    policies.personal_scope(actor)  # roles without registry access learn nothing, not even existence
    resident = session.get(Resident, resident_id)
    address = repository.household_address(session, resident.household_id) if resident else None
    if resident is None or address is None:
        raise NotFound("居民不存在")
    where = repository.location_of(session, address)
    policies.require_readable(actor, where)
    return resident, address, where


def get_resident(session: Session, *, actor: Principal, resident_id: int) -> Resident:
    """One resident inside the actor's scope (404 outside it, 403 for roles without registry access)."""
    return _load(session, actor, resident_id)[0]


def current_data(resident: Resident, *, vault: PiiVault) -> ResidentIn:
    """The stored resident as input data (decrypted), e.g. to merge a patch or export a row."""
    return ResidentIn.model_construct(
        name=resident.name,
        id_number=vault.decrypt(resident.id_number_cipher, context=ID_CONTEXT),
        gender=Gender(resident.gender),
        birth_date=resident.birth_date,
        phone=vault.decrypt(resident.phone_cipher, context=PHONE_CONTEXT) if resident.phone_cipher else None,
        relation=Relation(resident.relation),
        residence_type=ResidenceType(resident.residence_type),
        tags=[Tag(t.tag) for t in resident.tags if t.tag in _TAG_RANK],
        moved_in_on=resident.moved_in_on,
        moved_out_on=resident.moved_out_on,
        note=resident.note,
    )


def update_resident(
    session: Session, *, actor: Principal, vault: PiiVault, resident_id: int, patch: ResidentPatch
) -> Resident:
    """Change some fields of a resident (or move them to another household); rules as for a new one."""
    resident, address, where = _load(session, actor, resident_id)
    policies.require_writable(actor, where)
    changes = patch.model_dump(exclude_unset=True)
    new_household = changes.pop("household_id", None)
    data = parse_patch(current_data(resident, vault=vault).model_dump() | changes)
    if new_household is not None and new_household != resident.household_id:
        address, _ = _writable_household(session, actor, new_household)
        resident.household_id = new_household
    _ensure_unique_person(session, vault, data.id_number, other_than=resident.id)
    # `address` is the new household's after a move, so the stored place moves with the resident.
    apply_resident_data(resident, vault=vault, data=data, place=address.place)
    _flush(session)
    fields = sorted([*changes, *(["household_id"] if new_household is not None else [])])
    record_audit(
        session,
        actor=actor,
        action="resident.update",
        target_type="resident",
        target_id=resident.id,
        target_label=resident.name,
        community_id=address.community_id,
        detail={"fields": fields},
    )
    publish_on_commit(
        session,
        ResidentUpdated(
            community_id=address.community_id,
            resident_id=resident.id,
            household_id=resident.household_id,
            fields=tuple(fields),
        ),
    )
    return resident


def resident_out(
    resident: Resident,
    address: Address,
    *,
    vault: PiiVault,
    birth_day_shown: bool,
    day: date | None = None,
    tags: list[str] | None = None,
) -> ResidentOut:
    """The masked view of a resident (ages counted on `day`, default today; tags if already loaded).

    `birth_day_shown` (roles that may reveal) gives the whole birth date, others the year only.
    """
    id_number = vault.decrypt(resident.id_number_cipher, context=ID_CONTEXT)
    phone = vault.decrypt(resident.phone_cipher, context=PHONE_CONTEXT) if resident.phone_cipher else None
    day = day or today()
    return ResidentOut(
        id=resident.id,
        household_id=resident.household_id,
        name=resident.name,
        gender=Gender(resident.gender),
        birth_date=resident.birth_date if birth_day_shown else None,
        birth_year=resident.birth_date.year,
        age=age_on(resident.birth_date, day),
        id_number_masked=mask_id_number(id_number),
        phone_masked=mask_phone(phone) if phone else None,
        relation=resident.relation,
        residence_type=resident.residence_type,
        tags=sorted(tags if tags is not None else (t.tag for t in resident.tags), key=_tag_order),
        moved_in_on=resident.moved_in_on,
        moved_out_on=resident.moved_out_on,
        note=resident.note,
        address=address,
        moved_out=resident.moved_out_on is not None and resident.moved_out_on <= day,
    )


_TAG_RANK = {tag.value: rank for rank, tag in enumerate(Tag)}


def _tag_order(tag: str) -> tuple[int, str]:
    return _TAG_RANK.get(tag, len(_TAG_RANK)), tag


def show_resident(session: Session, *, actor: Principal, vault: PiiVault, resident_id: int) -> ResidentOut:
    """One resident, masked, inside the actor's scope."""
    resident, address, _where = _load(session, actor, resident_id)
    return resident_out(resident, address, vault=vault, birth_day_shown=policies.may_reveal(actor))


FULL_NUMBER_SEARCH = "pii.search"
_FULL_NUMBER_KINDS = {QueryKind.PHONE: "phone", QueryKind.ID_NUMBER: "id_number"}


def search_residents(
    session: Session,
    *,
    actor: Principal,
    vault: PiiVault,
    q: str | None,
    page: PageParams,
    reason: str | None = None,
    ip: str | None = None,
    full_number_limit: int = 20,
) -> ResidentPage:
    """Residents in scope matching a name, pinyin, initials, phone/ID tail, full number or plate.

    A blank query lists every resident in scope. Beyond COUNT_CAP matches the total says so
    (`total_exact` false) instead of counting them all. A full ID number or phone is a reveal
    (docs/privacy.md): only roles that may reveal may search by one, with a reason, at most
    `full_number_limit` times an hour per account, and each search is audited.
    """
    scope = policies.personal_scope(actor)
    query = parse_query(q or "")
    if query is not None and query.kind in _FULL_NUMBER_KINDS:
        _allow_full_number_search(session, actor, reason, limit=full_number_limit)
    if session.get_bind().dialect.name == "postgresql":
        # A search touches at most a few thousand rows: starting parallel workers costs more
        # (tens of ms on a busy box) than it saves. LOCAL: only for this transaction.
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        # The search indexes and rows stay cached, so a random page costs about a sequential one.
        # At the default 4 the planner walks the whole primary key checking every row's pinyin
        # keys (33 ms for `lst`) rather than fetch the ~800 rows the GIN index names (2 ms).
        session.execute(text("SET LOCAL random_page_cost = 1.1"))
    where = repository.resident_scope_clause(session, scope)
    exact: str | None = None
    if query is not None:
        lookup = vault.lookup_hash(query.text) if query.kind in _FULL_NUMBER_KINDS else None
        dialect = session.get_bind().dialect.name
        where = and_(where, repository.match_clause(query, dialect=dialect, lookup_hash=lookup))
        exact = query.text if query.kind is QueryKind.NAME else None
    total, total_exact, rows = repository.search_rows(
        session, where=where, order_exact=exact, offset=page.offset, limit=page.size
    )
    if query is not None and query.kind in _FULL_NUMBER_KINDS:
        record_audit(
            session,
            actor=actor,
            action=FULL_NUMBER_SEARCH,
            target_type="resident",
            target_id=rows[0][0].id if len(rows) == 1 else None,
            target_label=rows[0][0].name if len(rows) == 1 else None,
            reason=reason,
            ip=ip,
            detail={"field": _FULL_NUMBER_KINDS[query.kind], "matches": total},
        )
    day = today()
    shown = policies.may_reveal(actor)
    items = [
        resident_out(r, address, vault=vault, birth_day_shown=shown, day=day, tags=tags)
        for r, address, tags in rows
    ]
    return ResidentPage(items=items, total=total, total_exact=total_exact, page=page.page, size=page.size)


def _allow_full_number_search(session: Session, actor: Principal, reason: str | None, *, limit: int) -> None:
    policies.require_full_number_search(actor)
    if len((reason or "").strip()) < REASON_MIN:
        raise Invalid(
            f"按完整号码查找等同于查看完整信息，请填写理由（至少 {REASON_MIN} 个字）", field="reason"
        )
    since = utcnow() - timedelta(hours=1)
    if actions_since(session, actor=actor, action=FULL_NUMBER_SEARCH, since=since) >= limit:
        raise TooManyRequests(f"一小时内按完整号码查找已达 {limit} 次上限，请稍后再试", field="q")


def reveal(
    session: Session,
    *,
    actor: Principal,
    vault: PiiVault,
    resident_id: int,
    request: RevealIn,
    ip: str | None = None,
) -> RevealOut:
    """The full ID number or phone of a resident, for a permitted role with a reason; audited."""
    resident, address, where = _load(session, actor, resident_id)
    policies.require_can_reveal(actor, where)
    if request.field is RevealField.ID_NUMBER:
        value: str | None = vault.decrypt(resident.id_number_cipher, context=ID_CONTEXT)
    else:
        value = vault.decrypt(resident.phone_cipher, context=PHONE_CONTEXT) if resident.phone_cipher else None
    record_audit(
        session,
        actor=actor,
        action="pii.reveal",
        target_type="resident",
        target_id=resident.id,
        target_label=resident.name,
        reason=request.reason,
        community_id=address.community_id,
        ip=ip,
        detail={"field": request.field.value},
    )
    return RevealOut(resident_id=resident.id, field=request.field, value=value)


def household_by_address(
    session: Session, *, community: str, compound: str, building: str, unit: str, room: str
) -> Household:
    """The household at a written address; Invalid names the first level that is unknown."""
    names = {"community": community, "compound": compound, "building": building, "unit": unit, "room": room}
    names = {level: value.strip() for level, value in names.items()}
    for level, value in names.items():
        if not value:
            raise Invalid(f"{_ADDRESS_LEVELS[level]}不能为空", field=level)
    found = repository.household_by_names(session, **names)
    if isinstance(found, str):
        raise Invalid(f"{_ADDRESS_LEVELS[found]}“{names[found]}”不存在", field=found)
    return found


def _structure(
    session: Session, actor: Principal, entity: Any, parent: tuple[Any, Any, int | None] | None, what: str
) -> list[Any]:
    """Rows of one tree level in scope; `parent` = (parent model, foreign key column, parent id)."""
    scope = policies.structure_scope(actor)
    stmt = select(entity).where(repository.visible_clause(entity.id, scope))
    if parent is not None and parent[2] is not None:
        model, foreign_key, parent_id = parent
        visible = repository.visible_clause(model.id, scope)
        if session.scalar(select(model.id).where(model.id == parent_id, visible)) is None:
            raise NotFound(f"{what}不存在")
        stmt = stmt.where(foreign_key == parent_id)
    return list(session.scalars(stmt.order_by(entity.id)))


def list_communities(session: Session, *, actor: Principal) -> list[CommunityOut]:
    """Communities the actor works in (or that lead to their grids, compounds, household)."""
    rows = _structure(session, actor, Community, None, "社区")
    return [CommunityOut.model_validate(row) for row in rows]


def list_compounds(
    session: Session, *, actor: Principal, community_id: int | None = None
) -> list[CompoundOut]:
    """Compounds in scope, optionally of one community (404 if it is unknown or out of scope)."""
    rows = _structure(session, actor, Compound, (Community, Compound.community_id, community_id), "社区")
    return [CompoundOut.model_validate(row) for row in rows]


def list_buildings(
    session: Session, *, actor: Principal, compound_id: int | None = None
) -> list[BuildingOut]:
    """Buildings in scope, optionally of one compound."""
    rows = _structure(session, actor, Building, (Compound, Building.compound_id, compound_id), "小区")
    return [BuildingOut.model_validate(row) for row in rows]


def list_units(session: Session, *, actor: Principal, building_id: int | None = None) -> list[UnitOut]:
    """Units in scope, optionally of one building."""
    rows = _structure(session, actor, Unit, (Building, Unit.building_id, building_id), "楼栋")
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
    policies.require_readable(actor, repository.location_of(session, address), what="户")
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
