"""Measure resident search on a seeded database (see seed.py): the service against the bare SQL.

    .venv/bin/python bench/search/run.py --url postgresql://postgres@127.0.0.1:5432/jiayuan_bench

For a mix of queries drawn from the stored data (Chinese name, full pinyin, initials, phone tail,
ID tail, plate), it times `registry.service.resident_search.search_residents` (the code behind the
API, the console and `jiayuan residents find`), once as the system and once as the staff of one
community, and, as a
ceiling, the bare indexed SQL lookup of the same rows through psycopg with no ORM, scope, count,
address join or decryption. `--explain` prints EXPLAIN ANALYZE of the service's statements.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

import psycopg
from sqlalchemy import event
from sqlalchemy.engine import Connection

from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.names import GRAM_MAX
from jiayuan.registry.service.resident_search import search_residents

BENCH_PII_KEY = "bench-pii-key-0123456789abcdef"

# The bare lookups: the index a query needs and nothing else (first page of 20 ids).
CEILING_SQL = {
    "name": "SELECT id FROM residents WHERE name_grams @> ARRAY[%s]::varchar[] LIMIT 20",
    "pinyin": "SELECT id FROM residents WHERE name_keys @> ARRAY[%s]::varchar[] LIMIT 20",
    "initials": "SELECT id FROM residents WHERE name_keys @> ARRAY[%s]::varchar[] LIMIT 20",
    "phone_tail": "SELECT id FROM residents WHERE phone_tail = %s LIMIT 20",
    "id_tail": "SELECT id FROM residents WHERE id_tail = %s LIMIT 20",
    "plate": "SELECT r.id FROM vehicles v JOIN residents r ON r.household_id = v.household_id"
    " WHERE v.plate LIKE %s || '%%' LIMIT 20",
}


def draw_queries(url: str, per_kind: int, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, text) pairs taken from random stored residents and vehicles."""
    with psycopg.connect(url) as connection:
        top = connection.execute("SELECT max(id) FROM residents").fetchone()
        assert top and top[0], "seed the database first (bench/search/seed.py)"
        ids = [rng.randrange(1, top[0] + 1) for _ in range(per_kind)]
        rows = connection.execute(
            "SELECT name, name_pinyin, name_initials, phone_tail, id_tail FROM residents WHERE id = ANY(%s)",
            (ids,),
        ).fetchall()
        plates = connection.execute(
            "SELECT plate FROM vehicles ORDER BY random() LIMIT %s", (per_kind,)
        ).fetchall()
    queries: list[tuple[str, str]] = []
    for name, full, initials, phone_tail, id_tail in rows:
        queries += [("name", name), ("pinyin", full), ("initials", initials), ("id_tail", id_tail)]
        if phone_tail:
            queries.append(("phone_tail", phone_tail))
    queries += [("plate", plate) for (plate,) in plates]
    rng.shuffle(queries)
    return queries


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


def timed(queries: list[tuple[str, str]], call: Callable[[str, str], object]) -> dict[str, list[float]]:
    """Seconds per query, by kind and overall ("all")."""
    samples: dict[str, list[float]] = {"all": []}
    for kind, text in queries:
        started = time.perf_counter()
        call(kind, text)
        elapsed = time.perf_counter() - started
        samples.setdefault(kind, []).append(elapsed)
        samples["all"].append(elapsed)
    return samples


def explain(url: str, queries: list[tuple[str, str]], actor: Principal, vault: PiiVault) -> None:
    """EXPLAIN ANALYZE every statement the service runs for one query of each kind."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    statements: list[tuple[str, object]] = []

    def capture(
        conn: Connection, _cursor: object, statement: str, parameters: object, *_args: object
    ) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    done: set[str] = set()
    for kind, text in queries:
        if kind in done:
            continue
        done.add(kind)
        statements.clear()
        with sessions() as session:
            search_residents(session, actor=actor, vault=vault, q=text, page=PageParams())
        captured = list(statements)
        with engine.connect() as connection:
            for statement, parameters in captured:
                if not statement.lstrip().upper().startswith("SELECT"):
                    continue
                raw = connection.connection.driver_connection
                assert raw is not None
                plan = raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).fetchall()  # type: ignore[arg-type]
                print(f"\n=== {kind} {text!r}\n" + "\n".join(str(row[0]) for row in plan))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/jiayuan_bench")
    parser.add_argument("--per-kind", type=int, default=300)
    parser.add_argument("--community", type=int, default=1, help="Community of the staff principal.")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    vault = PiiVault.from_secret(BENCH_PII_KEY)
    queries = draw_queries(args.url, args.per_kind, rng)
    system = Principal.system()
    staff = Principal(role=Role.STAFF, username="bench", community_ids=frozenset({args.community}))
    if args.explain:
        explain(args.url, queries, staff, vault)
        return

    engine = make_engine(args.url)
    sessions = make_sessionmaker(engine)
    hits: dict[str, list[int]] = {}

    def service_as(actor: Principal) -> Callable[[str, str], object]:
        def call(kind: str, text: str) -> object:
            with sessions() as session:
                found = search_residents(session, actor=actor, vault=vault, q=text, page=PageParams())
            if actor is system:
                hits.setdefault(kind, []).append(found.total)
            return found

        return call

    with psycopg.connect(args.url) as raw:

        def ceiling(kind: str, text: str) -> object:
            value = text[:GRAM_MAX] if kind == "name" else text
            return raw.execute(CEILING_SQL[kind], (value,)).fetchall()

        timed(queries[:50], service_as(system))  # warm caches and connections
        timed(queries[:50], ceiling)
        results = {
            "bare SQL (ceiling)": timed(queries, ceiling),
            "service, system": timed(queries, service_as(system)),
            "service, staff of one community": timed(queries, service_as(staff)),
        }
    engine.dispose()

    with psycopg.connect(args.url) as connection:
        count = connection.execute("SELECT count(*) FROM residents").fetchone()
    print(f"{count[0] if count else 0:,} residents; {len(queries)} queries")
    kinds = ["all", *sorted(k for k in results["service, system"] if k != "all")]
    print(f"{'path':34} {'kind':11} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'matches':>8}")
    for path, samples in results.items():
        for kind in kinds:
            p50, p95, p99 = percentiles(samples[kind])
            matches = (
                statistics.median(hits.get(kind, [0]))
                if kind != "all"
                else statistics.median([h for values in hits.values() for h in values])
            )
            print(
                f"{path:34} {kind:11} {len(samples[kind]):5} {p50:8.2f} {p95:8.2f} {p99:8.2f} {matches:8.0f}"
            )
    ceiling_p95 = percentiles(results["bare SQL (ceiling)"]["all"])[1]
    for path in ("service, system", "service, staff of one community"):
        print(f"p95 ratio {path} / ceiling: {percentiles(results[path]['all'])[1] / ceiling_p95:.1f}x")


if __name__ == "__main__":
    main()
