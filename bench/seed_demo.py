"""Time `seed_demo` on a fresh SQLite database, against the bare-insert ceiling of the same file system.

Run: PYTHONPATH=src .venv/bin/python bench/seed_demo.py
The ceiling inserts as many rows of the same width with plain sqlite3 executemany (no ORM, no
encryption, no pinyin, no password hashing): the fastest the disk and driver can take them.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

import jiayuan.models  # noqa: F401
from jiayuan.accounts import passwords
from jiayuan.db import migrate
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.demo.seed import seed_demo
from jiayuan.kernel.crypto import PiiVault
from jiayuan.registry.models import Household, Resident
from jiayuan.settings import Settings


def seed_once(directory: Path) -> tuple[float, int, int]:
    """Seconds to seed a migrated, empty database, and the households and residents written."""
    url = f"sqlite:///{directory / 'seed.db'}"
    migrate.upgrade(url)
    settings = Settings()
    passwords.configure(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib)
    engine = make_engine(url)
    started = time.perf_counter()
    with unit_of_work(make_sessionmaker(engine)) as session:
        seed_demo(session, vault=PiiVault.from_secret("bench-pii-key-0123456789"))
    elapsed = time.perf_counter() - started
    with make_sessionmaker(engine)() as session:
        households = session.scalar(select(func.count()).select_from(Household)) or 0
        residents = session.scalar(select(func.count()).select_from(Resident)) or 0
    engine.dispose()
    return elapsed, households, residents


def ceiling(directory: Path, households: int, residents: int) -> float:
    """Seconds for bare executemany inserts of the same number of rows, WAL, one transaction."""
    connection = sqlite3.connect(directory / "ceiling.db")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE h (id INTEGER PRIMARY KEY, unit_id INT, room TEXT)")
    connection.execute(
        "CREATE TABLE r (id INTEGER PRIMARY KEY, household_id INT, name TEXT, pinyin TEXT, initials TEXT, "
        "id_cipher TEXT, id_hash TEXT UNIQUE, id_tail TEXT, phone_cipher TEXT, phone_hash TEXT, note TEXT)"
    )
    cipher = "g1:" + "x" * 60
    started = time.perf_counter()
    with connection:
        connection.executemany(
            "INSERT INTO h (unit_id, room) VALUES (?, ?)", ((i % 107, str(i)) for i in range(households))
        )
        connection.executemany(
            "INSERT INTO r (household_id, name, pinyin, initials, id_cipher, id_hash, id_tail, phone_cipher, "
            "phone_hash, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    i % households,
                    "张三",
                    "zhangsan",
                    "zs",
                    cipher,
                    f"{i:064d}",
                    "1234",
                    cipher,
                    f"{i:064x}",
                    "",
                )
                for i in range(residents)
            ),
        )
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def main() -> None:
    """Seed once, measure the ceiling in the same run, print both and the ratio."""
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        seconds, households, residents = seed_once(directory)
        bare = ceiling(directory, households, residents)
    print(f"seed_demo: {seconds:.1f} s for {households} households, {residents} residents (budget 30 s)")
    print(f"bare sqlite3 insert of the same rows: {bare:.2f} s; ratio {seconds / bare:.0f}x")


if __name__ == "__main__":
    main()
