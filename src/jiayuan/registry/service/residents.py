"""Residents in and out: register, change, show (masked), reveal with a reason; the stored columns."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiayuan.accounts.service.audit import record_audit
from jiayuan.bus.bus import publish_on_commit
from jiayuan.kernel.crypto import PiiVault, mask_id_number, mask_phone
from jiayuan.kernel.errors import Conflict, Invalid, NotFound
from jiayuan.kernel.i18n import N_
from jiayuan.kernel.principal import Principal
from jiayuan.registry import policies, repository
from jiayuan.registry.events import ResidentAdded, ResidentUpdated
from jiayuan.registry.models import (
    Resident,
    ResidentTag,
)
from jiayuan.registry.names import name_columns
from jiayuan.registry.policies import Location
from jiayuan.registry.schemas import (
    Address,
    Gender,
    Place,
    Relation,
    ResidenceType,
    ResidentIn,
    ResidentOut,
    ResidentPatch,
    RevealField,
    RevealIn,
    RevealOut,
    Tag,
    age_on,
    parse_patch,
    today,
)

ID_CONTEXT = "id_number"
PHONE_CONTEXT = "phone"


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
        raise Invalid("户 #{id} 不存在", field="household_id", id=household_id)
    where = repository.location_of(session, address)
    try:
        policies.require_writable(actor, where, missing=N_("户不存在"))
    except NotFound:
        raise Invalid("户 #{id} 不存在", field="household_id", id=household_id) from None
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
) -> ResidentOut:
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
    return resident_out(resident, address, vault=vault, birth_day_shown=policies.may_reveal(actor))


def _load(session: Session, actor: Principal, resident_id: int) -> tuple[Resident, Address, Location]:
    policies.personal_scope(actor)  # roles without registry access learn nothing, not even existence
    resident = session.get(Resident, resident_id)
    address = repository.household_address(session, resident.household_id) if resident else None
    if resident is None or address is None:
        raise NotFound("居民不存在")
    where = repository.location_of(session, address)
    policies.require_readable(actor, where)
    return resident, address, where


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
) -> ResidentOut:
    """Change some fields of a resident (or move them to another household); rules as for a new one."""
    resident, address = change_resident(
        session, actor=actor, vault=vault, resident_id=resident_id, patch=patch
    )
    return resident_out(resident, address, vault=vault, birth_day_shown=policies.may_reveal(actor))


def change_resident(
    session: Session, *, actor: Principal, vault: PiiVault, resident_id: int, patch: ResidentPatch
) -> tuple[Resident, Address]:
    """`update_resident` without building the masked view: for the import, which changes thousands."""
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
    return resident, address


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

    `birth_day_shown` (roles that may reveal) gives the whole birth date and the age; others get the
    year only and the age reached this year, which does not tell whether the birthday has passed.
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
        age=age_on(resident.birth_date, day) if birth_day_shown else day.year - resident.birth_date.year,
        age_this_year=not birth_day_shown,
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
