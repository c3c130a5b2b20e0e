"""The demo community, seeded once per backend for the whole test session (it is ~8,000 rows)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts import passwords
from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.demo.seed import SeedResult, seed_demo
from jiayuan.kernel.crypto import PiiVault
from tests.databases import create_database, drop_database


def seed_into(url: str, vault: PiiVault) -> SeedResult:
    """Seed the demo into the database at `url` with quick password hashing."""
    passwords.configure(time_cost=1, memory_kib=1024)
    engine = make_engine(url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            return seed_demo(session, vault=vault)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def demo_url(
    test_database_url: str, tmp_path_factory: pytest.TempPathFactory, vault: PiiVault
) -> Iterator[str]:
    """A database of the session's backend holding the demo data (not wiped between tests)."""
    backend = "sqlite" if test_database_url.startswith("sqlite") else "postgresql"
    url = create_database(backend, tmp_path_factory.mktemp(f"demo-{backend}"))
    result = seed_into(url, vault)
    assert result.created
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def demo_engine(demo_url: str) -> Iterator[Engine]:
    """The engine of the demo database."""
    engine = make_engine(demo_url)
    yield engine
    engine.dispose()


@pytest.fixture
def demo_sessions(demo_engine: Engine) -> sessionmaker[Session]:
    """Sessions on the demo database; tests read it or roll back what they change."""
    return make_sessionmaker(demo_engine)


@pytest.fixture
def demo_db(demo_sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One session on the demo database, rolled back at the end."""
    with demo_sessions() as session:
        yield session
        session.rollback()


@pytest.fixture(scope="session")
def second_demo_url(tmp_path_factory: pytest.TempPathFactory, vault: PiiVault) -> str:
    """Another, independent SQLite database seeded from scratch (to compare runs and backends)."""
    url = create_database("sqlite", tmp_path_factory.mktemp("demo-again"))
    assert seed_into(url, vault).created
    return url
