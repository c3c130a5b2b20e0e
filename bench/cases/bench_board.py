"""The case board's first page with 100,000 cases on PostgreSQL: the service against the bare SQL.

    PYTHONPATH=src .venv/bin/python bench/cases/bench_board.py [--cases 100000] [--runs 200]

The database (`--url`, dropped and recreated) is migrated, seeded with the demo community and filled
with cases as two years of a busy office leave them (most closed, some open and overdue, every
category, the demo's grids, compounds and workers). It then times `cases.service.reads.list_cases` (what
the console board, the API and `jiayuan cases list` call: reach, filters, the page of 50, the total and
the assignees' names) for the office and a grid worker with each filter, and, as the ceiling, the bare
indexed lookup of the same page's ids through psycopg (no ORM, no count, no names).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta

import psycopg
from sqlalchemy import select

import jiayuan.models  # noqa: F401
from jiayuan.accounts import passwords
from jiayuan.accounts.models import User
from jiayuan.accounts.service.users import active_principal
from jiayuan.cases.schemas import CaseFilter, Category, Source
from jiayuan.cases.service import reads
from jiayuan.cases.states import CaseState
from jiayuan.db import migrate
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.demo.seed import seed_demo
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.paging import PageParams
from jiayuan.registry.models import Building, Grid, Household, Unit, grid_buildings

PAGE = PageParams(page=1, size=50)
CEILING_SQL = "SELECT id FROM cases WHERE community_id = ANY(%s) ORDER BY reported_at DESC, id DESC LIMIT 50"
PLACE = "锦江花园 1号楼 1单元 101"
TITLES = (
    "楼道灯不亮",
    "楼上深夜装修",
    "垃圾桶满溢",
    "消防通道堆放杂物",
    "邻里停车纠纷",
    "单元门禁坏了",
    "水管漏水",
)


def recreate(url: str) -> None:
    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def seed(url: str, count: int, rng: random.Random) -> None:
    """The demo community, then `count` cases written with COPY."""
    migrate.upgrade(url.replace("postgresql://", "postgresql+psycopg://"))
    passwords.configure(time_cost=1, memory_kib=1024)
    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with unit_of_work(make_sessionmaker(engine)) as session:
        seed_demo(session, vault=PiiVault.from_secret("bench-pii-key-0123456789abcdef"))
    with make_sessionmaker(engine)() as session:
        homes = session.execute(
            select(Household.id, Building.compound_id, grid_buildings.c.grid_id, Grid.community_id)
            .join(Unit, Household.unit_id == Unit.id)
            .join(Building, Unit.building_id == Building.id)
            .join(grid_buildings, grid_buildings.c.building_id == Building.id)
            .join(Grid, Grid.id == grid_buildings.c.grid_id)
        ).all()
        workers = list(session.scalars(select(User.id).where(User.role.in_(("grid", "staff")))))
    engine.dispose()
    now = utcnow()
    categories = list(Category)
    states = list(CaseState)
    started = time.perf_counter()
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        columns = (
            "category, source, title, description, state, level, community_id, compound_id,"
            " household_id, grid_id, place_label, evidence, reporter_name, assignee_user_id,"
            " reported_at, closed_at, due_at, created_at, updated_at"
        )
        with cursor.copy(f"COPY cases ({columns}) FROM STDIN") as copy:
            for _ in range(count):
                household, compound, grid, community = rng.choice(homes)
                reported = now - timedelta(minutes=rng.randrange(1, 2 * 365 * 24 * 60))
                state = CaseState.CLOSED if rng.random() < 0.85 else rng.choice(states[:-1])
                closed = (
                    reported + timedelta(hours=rng.randrange(1, 96)) if state is CaseState.CLOSED else None
                )
                due = None if closed else reported + timedelta(hours=rng.randrange(1, 72))
                copy.write_row(
                    (
                        rng.choice(categories).value, Source.RESIDENT.value, rng.choice(TITLES), "",
                        state.value, 0, community, compound, household, grid, PLACE, "{}", "bench",
                        rng.choice(workers) if state is not CaseState.REPORTED else None,
                        reported, closed, due, reported, closed or reported,
                    )
                )  # fmt: skip
        connection.execute("ANALYZE cases")
    print(f"seeded {count:,} cases in {time.perf_counter() - started:.1f} s")


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


def timed(runs: int, call: Callable[[], object]) -> list[float]:
    call()  # warm the statement cache and the pages
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/jiayuan_bench_cases")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--no-seed", action="store_true", help="reuse the database of an earlier run")
    args = parser.parse_args()
    rng = random.Random(20261205)
    if not args.no_seed:
        recreate(args.url)
        seed(args.url, args.cases, rng)
    engine = make_engine(args.url.replace("postgresql://", "postgresql+psycopg://"))
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        staff = active_principal(session, "staff")
        grid = active_principal(session, "grid01")
    assert staff is not None and grid is not None
    with psycopg.connect(args.url) as connection:
        ceiling = percentiles(
            timed(
                args.runs, lambda: connection.execute(CEILING_SQL, (sorted(staff.community_ids),)).fetchall()
            )
        )
    print(f"| who | filter | p50 ms | p95 ms | p99 ms | p95 / ceiling p95 ({ceiling[1]:.2f} ms) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for who, actor in (("staff", staff), ("grid01", grid)):
        for label, filters in (
            ("none", CaseFilter()),
            ("open", CaseFilter(open_only=True)),
            ("category=repair", CaseFilter(category=Category.REPAIR)),
            ("overdue", CaseFilter(overdue=True)),
            ("mine", CaseFilter(mine=True)),
            ("text=门禁", CaseFilter(text="门禁")),
        ):

            def board(actor: object = actor, filters: CaseFilter = filters) -> object:
                with sessions() as session:
                    return reads.list_cases(session, actor=actor, filters=filters, params=PAGE)  # type: ignore[arg-type]

            p50, p95, p99 = percentiles(timed(args.runs, board))
            print(f"| {who} | {label} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {p95 / ceiling[1]:.1f}× |")
    engine.dispose()


if __name__ == "__main__":
    main()
