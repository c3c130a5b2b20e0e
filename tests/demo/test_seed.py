"""`seed_demo`: the demo community has the promised size and shape, and its people make sense."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.accounts.service.users import principal_of
from jiayuan.demo.accounts import DEMO_ACCOUNTS
from jiayuan.demo.layout import COMPOUNDS
from jiayuan.demo.people import REFERENCE_DAY
from jiayuan.demo.seed import seed_demo
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal, Role
from jiayuan.patrol import service as patrol
from jiayuan.registry.models import (
    Building,
    Community,
    Compound,
    Device,
    Gate,
    Grid,
    Household,
    Resident,
    Shop,
    ShopStreet,
    Street,
    StreetSection,
    Unit,
    Vehicle,
)
from jiayuan.registry.names import name_pinyin
from jiayuan.registry.service.residents import ID_CONTEXT, PHONE_CONTEXT
from jiayuan.registry.service.stats import registry_stats
from jiayuan.registry.validation import birth_date_of, gender_of, validate_id_number, validate_phone

TABLES = (
    Street,
    Community,
    Compound,
    Building,
    Unit,
    Household,
    Resident,
    Vehicle,
    Grid,
    Gate,
    Device,
    Shop,
    User,
)


def _age(born: date) -> int:
    return (
        REFERENCE_DAY.year - born.year - ((REFERENCE_DAY.month, REFERENCE_DAY.day) < (born.month, born.day))
    )


def test_the_community_has_the_promised_size(demo_db: Session) -> None:
    stats = registry_stats(demo_db, actor=Principal.system())
    by_name = {c.name: c for c in stats.communities}
    main = by_name["紫荆路社区"]
    assert (main.street, main.compounds, main.buildings) == ("紫荆路街道", 5, 46)
    assert main.households >= 2600
    assert main.residents >= 7000
    assert main.vehicles > 500
    assert by_name["桐本南路社区"].street == "杜甫路街道"
    assert by_name["桐本南路社区"].shops == 127
    assert stats.total.residents == main.residents
    names = demo_db.scalars(select(Compound.name).order_by(Compound.id)).all()
    assert names == ["锦江花园", "森海一期", "森海二期", "鸿运嘉苑", "外运小区"]
    per_compound = Counter(demo_db.scalars(select(Compound.code).join(Building)).all())
    assert per_compound == {plan.code: plan.buildings for plan in COMPOUNDS}


def test_shop_street(demo_db: Session, vault: PiiVault) -> None:
    street = demo_db.scalars(select(ShopStreet)).one()
    assert (street.name, street.length_m, street.width_m) == ("园丁街", 381, 14)
    sections = demo_db.scalars(select(StreetSection).where(StreetSection.street_id == street.id)).all()
    assert len(sections) == 4
    shops = demo_db.scalars(select(Shop)).all()
    assert len(shops) == 127
    assert len({shop.name for shop in shops}) == 127
    assert all(shop.business and shop.operator_name and shop.operator_phone_cipher for shop in shops)
    for shop in shops:
        phone = vault.decrypt(shop.operator_phone_cipher or "", context=PHONE_CONTEXT)
        assert validate_phone(phone) == phone and shop.operator_phone_tail == phone[-4:]


def test_gates_devices_and_grids(demo_db: Session) -> None:
    gates = demo_db.scalars(select(Gate).order_by(Gate.id)).all()
    assert [g.code for g in gates] == [f"{plan.code}-gate1" for plan in COMPOUNDS]
    devices = set(demo_db.scalars(select(Device.id)).all())
    for plan in COMPOUNDS:
        for suffix in ("qr", "plate", "cam360", "sos", "speaker"):
            assert f"{plan.code}-gate1-{suffix}" in devices
    assert len(devices) == 25
    grids = demo_db.scalars(select(Grid)).all()
    covered = [b.id for grid in grids for b in grid.buildings]
    assert sorted(covered) == sorted(demo_db.scalars(select(Building.id)).all())  # each building exactly once
    for grid in grids:
        worker = demo_db.get(User, grid.worker_user_id)
        assert worker is not None and worker.role == Role.GRID.value
        assert principal_of(worker).grid_ids == {grid.id}


def test_demo_accounts_exist_with_their_scopes(demo_db: Session) -> None:
    users = {u.username: u for u in demo_db.scalars(select(User)).all()}
    assert set(users) == {a.username for a in DEMO_ACCOUNTS}
    roles = {a.role for a in DEMO_ACCOUNTS}
    assert {
        Role.ADMIN,
        Role.STAFF,
        Role.GRID,
        Role.PROPERTY,
        Role.POLICE,
        Role.VOLUNTEER,
        Role.RESIDENT,
    } <= roles
    for account in DEMO_ACCOUNTS:
        assert users[account.username].role == account.role.value
        assert users[account.username].password_hash
    resident = principal_of(users["jumin"])
    assert resident.household_id is not None and resident.person_id is not None
    head = demo_db.get(Resident, resident.person_id)
    assert head is not None and head.household_id == resident.household_id and head.relation == "户主"
    assert principal_of(users["wuye"]).compound_ids == {
        demo_db.scalar(select(Compound.id).where(Compound.code == "jjhy"))
    }


def test_people_are_consistent(demo_db: Session, vault: PiiVault) -> None:
    households: dict[int, list[Resident]] = defaultdict(list)
    phones = []
    for resident in demo_db.scalars(select(Resident)).all():
        households[resident.household_id].append(resident)
        id_number = vault.decrypt(resident.id_number_cipher, context=ID_CONTEXT)
        assert validate_id_number(id_number) == id_number
        assert id_number.startswith("410181")
        assert birth_date_of(id_number) == resident.birth_date
        assert gender_of(id_number) == resident.gender
        assert resident.id_tail == id_number[-4:]
        assert resident.id_number_hash == vault.lookup_hash(id_number)
        assert (resident.name_pinyin, resident.name_initials) == name_pinyin(resident.name)
        if resident.phone_cipher:
            phone = vault.decrypt(resident.phone_cipher, context=PHONE_CONTEXT)
            assert validate_phone(phone) == phone and resident.phone_tail == phone[-4:]
            phones.append(phone)
        assert 2 <= len(resident.name) <= 4
    assert len(phones) == len(set(phones))
    for members in households.values():
        heads = [m for m in members if m.relation == "户主"]
        assert len(heads) == 1
        head = heads[0]
        for member in members:
            tags = {t.tag for t in member.tags}
            age = _age(member.birth_date)
            # 独居老人 exactly for old people living alone.
            assert ("独居老人" in tags) == (len(members) == 1 and age >= 60)
            assert ("高龄" in tags) == (age >= 80)
            if member.relation == "配偶":
                assert member.gender != head.gender
                assert abs(_age(member.birth_date) - _age(head.birth_date)) <= 5
            if member.relation == "子女":
                assert member.birth_date > head.birth_date
            if member.relation == "父母":
                assert member.birth_date < head.birth_date
            if member.relation == "孙子女":
                assert _age(head.birth_date) - age >= 40


def test_vehicles_have_chinese_plates(demo_db: Session) -> None:
    vehicles = demo_db.scalars(select(Vehicle)).all()
    colors = Counter(v.color for v in vehicles)
    assert colors["green"] > 50 and colors["blue"] > 300
    owners = dict(demo_db.execute(select(Resident.id, Resident.household_id)).tuples().all())
    for vehicle in vehicles:
        assert vehicle.plate[0] == "豫"
        assert len(vehicle.plate) == (8 if vehicle.color == "green" else 7)
        assert vehicle.owner_id is not None and owners[vehicle.owner_id] == vehicle.household_id


def test_seeding_again_changes_nothing(demo_db: Session, vault: PiiVault) -> None:
    before = {
        model.__tablename__: demo_db.scalar(select(func.count()).select_from(model)) for model in TABLES
    }
    assert seed_demo(demo_db, vault=vault).created is False
    demo_db.flush()
    after = {model.__tablename__: demo_db.scalar(select(func.count()).select_from(model)) for model in TABLES}
    assert after == before


def test_the_night_patrol_covers_every_gate_camera(demo_db: Session) -> None:
    [plan] = patrol.list_plans(demo_db, actor=Principal.system())
    assert (plan.name, plan.every_minutes, plan.window_start, plan.window_end) == (
        "夜间视频巡查",
        120,
        "20:00",
        "06:00",
    )
    cameras = set(demo_db.scalars(select(Device.id).where(Device.kind == "camera_360")))
    assert {c.device_id for c in plan.cameras} == cameras and len(cameras) == 5
