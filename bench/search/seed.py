"""Seed a PostgreSQL database with a large registry (default 1,000,000 residents) through COPY.

    .venv/bin/python bench/search/seed.py --url postgresql://postgres@127.0.0.1:5432/jiayuan_bench

The database is dropped and recreated, migrated with the project's migrations, then filled with
a real tree (communities → compounds → buildings → units → households) and residents whose stored
columns are exactly what the registry writes (AES-GCM ciphertexts, keyed hashes, tails, pinyin,
name substrings), plus vehicles and tags. Secondary indexes are built after the load.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import psycopg
from rich.progress import Progress

from jiayuan.db import migrate
from jiayuan.demo.names import given_name, surname
from jiayuan.kernel.crypto import PiiVault
from jiayuan.registry.names import name_columns
from jiayuan.registry.validation import id_check_digit

BENCH_PII_KEY = "bench-pii-key-0123456789abcdef"
REGIONS = ("410181", "410102", "410103", "410104", "410105", "410122", "410183", "410185", "411302", "410922")
MOBILE = (
    "138",
    "139",
    "137",
    "136",
    "135",
    "150",
    "151",
    "152",
    "158",
    "159",
    "186",
    "187",
    "188",
    "133",
    "177",
)
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
TAGS = ("独居老人", "高龄", "残疾", "低保", "退役军人", "党员", "重点关注")
RELATIONS = ("户主", "配偶", "子女", "父母", "孙子女")
TYPES = ("户籍", "户籍", "常住", "租住", "流动")


def admin_url(url: str) -> str:
    """The maintenance database on the same server."""
    return url.rsplit("/", 1)[0] + "/postgres"


def recreate(url: str) -> None:
    """Drop and create the bench database, then migrate it."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url(url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    migrate.upgrade(url)


def copy_rows(
    connection: psycopg.Connection, table: str, columns: tuple[str, ...], rows: Iterator[tuple[object, ...]]
) -> int:
    """COPY rows into a table; returns how many."""
    count = 0
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def secondary_indexes(connection: psycopg.Connection, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, definition) of the non-constraint indexes of some tables."""
    rows = connection.execute(
        """SELECT i.indexname, i.indexdef FROM pg_indexes i
           WHERE i.tablename = ANY(%s) AND i.indexname NOT IN (SELECT conname FROM pg_constraint)""",
        (list(tables),),
    ).fetchall()
    return [(str(name), str(definition)) for name, definition in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/jiayuan_bench")
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    vault = PiiVault.from_secret(BENCH_PII_KEY)
    started = time.perf_counter()
    recreate(args.url)
    households_needed = args.residents // 2.7
    units_per_building, rooms_per_unit = 4, 30  # 15 floors × 2 flats
    buildings_needed = int(households_needed // (units_per_building * rooms_per_unit)) + 1
    compounds_per_community, buildings_per_compound = 10, 15
    communities = max(1, buildings_needed // (compounds_per_community * buildings_per_compound) + 1)
    now = datetime.now(UTC)
    tables = ("residents", "resident_tags", "vehicles", "households")

    with psycopg.connect(args.url) as connection, Progress() as progress:
        dropped = secondary_indexes(connection, tables)
        for name, _definition in dropped:
            connection.execute(f'DROP INDEX "{name}"')
        connection.execute("INSERT INTO streets (id, name, city) VALUES (1, '紫荆路街道', '巩义市')")
        copy_rows(
            connection,
            "communities",
            ("id", "street_id", "name"),
            ((c, 1, f"第{c}社区") for c in range(1, communities + 1)),
        )
        compounds = [
            (c * 100 + k, c, f"小区{c}-{k}", f"C{c}K{k}")
            for c in range(1, communities + 1)
            for k in range(compounds_per_community)
        ]
        copy_rows(
            connection,
            "compounds",
            ("id", "community_id", "name", "code", "address"),
            ((i, c, n, code, "") for i, c, n, code in compounds),
        )
        buildings = [
            (cid * 100 + b, cid, f"{b + 1}号楼")
            for cid, *_ in compounds
            for b in range(buildings_per_compound)
        ]
        copy_rows(
            connection,
            "buildings",
            ("id", "compound_id", "name", "floors"),
            ((i, c, n, 15) for i, c, n in buildings),
        )
        units = [
            (bid * 10 + u, bid, f"{u + 1}单元") for bid, *_ in buildings for u in range(units_per_building)
        ]
        copy_rows(connection, "units", ("id", "building_id", "name"), units)
        grids = [
            (i + 1, c, f"第{k + 1}网格")
            for i, (c, k) in enumerate((c, k) for c in range(1, communities + 1) for k in range(10))
        ]
        copy_rows(connection, "grids", ("id", "community_id", "name"), grids)
        copy_rows(
            connection,
            "grid_buildings",
            ("grid_id", "building_id"),
            # One grid per compound: building id = compound id × 100 + n, compound id = community × 100 + k.
            ((grids[(bid // 100 // 100 - 1) * 10 + (bid // 100) % 100][0], bid) for bid, *_ in buildings),
        )

        task = progress.add_task("居民 residents", total=args.residents)
        seen_ids: set[str] = set()
        plates: set[str] = set()
        names: dict[str, tuple[str, str, str, str]] = {}
        resident_rows: list[tuple[object, ...]] = []
        tag_rows: list[tuple[object, ...]] = []
        vehicle_rows: list[tuple[object, ...]] = []
        household_rows: list[tuple[object, ...]] = []
        resident_id = household_id = 0
        unit_index = room_index = 0

        def flush() -> None:
            copy_rows(connection, "households", ("id", "unit_id", "room"), iter(household_rows))
            copy_rows(
                connection,
                "residents",
                (
                    "id",
                    "household_id",
                    "community_id",
                    "compound_id",
                    "building_id",
                    "name",
                    "name_pinyin",
                    "name_initials",
                    "name_grams",
                    "name_keys",
                    "gender",
                    "birth_date",
                    "id_number_cipher",
                    "id_number_hash",
                    "id_tail",
                    "phone_cipher",
                    "phone_hash",
                    "phone_tail",
                    "relation",
                    "residence_type",
                    "moved_in_on",
                    "moved_out_on",
                    "note",
                    "created_at",
                    "updated_at",
                ),
                iter(resident_rows),
            )
            copy_rows(connection, "resident_tags", ("id", "resident_id", "tag"), iter(tag_rows))
            copy_rows(
                connection,
                "vehicles",
                ("id", "plate", "color", "household_id", "owner_id", "model"),
                iter(vehicle_rows),
            )
            for rows in (household_rows, resident_rows, tag_rows, vehicle_rows):
                rows.clear()

        tag_id = vehicle_id = 0
        while resident_id < args.residents:
            unit_id = units[unit_index][0]
            room = f"{room_index // 2 + 1}{room_index % 2 + 1:02d}"
            room_index += 1
            if room_index == rooms_per_unit:
                room_index, unit_index = 0, unit_index + 1
            household_id += 1
            household_rows.append((household_id, unit_id, room))
            # Unit id = building × 10 + u; building = compound × 100 + b; compound = community × 100 + k.
            place = (unit_id // 10 // 100 // 100, unit_id // 10 // 100, unit_id // 10)
            members = min(rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5)), args.residents - resident_id)
            head = None
            for member in range(members):
                resident_id += 1
                gender = rng.choice("男女")
                while True:
                    born = date(1935, 1, 1) + timedelta(days=rng.randrange(0, 365 * 88))
                    serial = rng.randrange(0, 500) * 2 + (1 if gender == "男" else 0)
                    first17 = f"{rng.choice(REGIONS)}{born:%Y%m%d}{serial:03d}"
                    id_number = first17 + id_check_digit(first17)
                    if id_number not in seen_ids:
                        seen_ids.add(id_number)
                        break
                name = surname(rng) + given_name(rng, gender=gender, birth_year=born.year)
                if name not in names:
                    columns = name_columns(name)
                    names[name] = (
                        columns["name_pinyin"],
                        columns["name_initials"],
                        "{" + ",".join(columns["name_grams"]) + "}",
                        "{" + ",".join(columns["name_keys"]) + "}",
                    )
                full, initials, grams, keys = names[name]
                phone = rng.choice(MOBILE) + f"{rng.randrange(10**8):08d}" if rng.random() < 0.85 else None
                resident_rows.append((
                    resident_id, household_id, *place, name, full, initials, grams, keys, gender, born,
                    vault.encrypt(id_number, context="id_number"),
                    vault.lookup_hash(id_number), id_number[-4:],
                    vault.encrypt(phone, context="phone") if phone else None,
                    vault.lookup_hash(phone) if phone else None, phone[-4:] if phone else None,
                    RELATIONS[min(member, len(RELATIONS) - 1)], rng.choice(TYPES), None, None, "", now, now,
                ))  # fmt: skip
                head = head or resident_id
                if rng.random() < 0.12:
                    tag_id += 1
                    tag_rows.append((tag_id, resident_id, rng.choice(TAGS)))
            if rng.random() < 0.3:
                while True:
                    plate = (
                        "豫"
                        + rng.choice("AAAAGCBFE")
                        + rng.choice(LETTERS + "0123456789")
                        + f"{rng.randrange(10**4):04d}"
                    )
                    if plate not in plates:
                        plates.add(plate)
                        break
                vehicle_id += 1
                vehicle_rows.append(
                    (vehicle_id, plate, rng.choice(("白", "黑", "银", "红", "蓝")), household_id, head, "")
                )
            if len(resident_rows) >= 20_000:
                progress.update(task, completed=resident_id)
                flush()
        flush()
        progress.update(task, completed=resident_id)

        index_task = progress.add_task("索引 indexes", total=len(dropped))
        for _name, definition in dropped:
            connection.execute(definition)
            progress.advance(index_task)
        for table in ("streets", "communities", "compounds", "buildings", "units", "households", "residents",
                      "resident_tags", "vehicles", "grids"):  # fmt: skip
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")

    elapsed = time.perf_counter() - started
    print(
        f"seeded {resident_id:,} residents in {household_id:,} households, {len(buildings):,} buildings, "
        f"{len(compounds):,} compounds, {communities} communities, {vehicle_id:,} vehicles in {elapsed:.0f} s"
    )


if __name__ == "__main__":
    main()
