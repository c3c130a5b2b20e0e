"""Shared fixtures: every storage test runs on SQLite and on a real PostgreSQL database.

Set JIAYUAN_TEST_BACKENDS=sqlite (or postgresql) to run on one backend only while developing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.db import migrate
from jiayuan.db.base import Base
from jiayuan.db.session import make_engine, make_sessionmaker, normalise_url
from jiayuan.kernel.crypto import PiiVault
from jiayuan.settings import Settings

PG_ADMIN_URL = os.environ.get("JIAYUAN_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = os.environ.get("JIAYUAN_TEST_BACKENDS", "sqlite,postgresql").split(",")
TEST_PII_KEY = "test-pii-key-0123456789abcdef"


def create_database(backend: str, directory: Path) -> str:
    """A new, empty, migrated database on the backend; returns its URL."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / 'jiayuan.db'}"
    else:
        name = f"jiayuan_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    migrate.upgrade(url)
    return url


def drop_database(url: str) -> None:
    """Remove a PostgreSQL test database (SQLite files go with their temp folder)."""
    if url.startswith("sqlite"):
        return
    name = url.rsplit("/", 1)[1]
    admin = create_engine(normalise_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def make_test_settings(url: str, var_dir: Path) -> Settings:
    """Settings for tests: quick password hashing, fixed keys, temp var dir."""
    return Settings(
        env="test",
        database_url=url,
        var_dir=var_dir,
        pii_key=TEST_PII_KEY,  # type: ignore[arg-type]
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database per backend for the whole session."""
    url = create_database(request.param, tmp_path_factory.mktemp(f"db-{request.param}"))
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The engine of the session's database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def wipe(engine: Engine) -> None:
    """Empty every table so each test starts from nothing."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory on an empty database (emptied before each test, not after: halves the cost)."""
    wipe(engine)
    yield make_sessionmaker(engine)


@pytest.fixture
def db(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One open session on an empty database."""
    with sessions() as session:
        yield session


@pytest.fixture(scope="session")
def vault() -> PiiVault:
    """The PII vault with the test key."""
    return PiiVault.from_secret(TEST_PII_KEY)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Test settings on the session's database."""
    return make_test_settings(database_url, tmp_path)


@pytest.fixture
def app(settings: Settings, sessions: sessionmaker[Session]) -> FastAPI:
    """The application on an empty database."""
    from jiayuan.web.app import create_app

    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client bound to the app (lifespan included)."""
    with TestClient(app) as test_client:
        yield test_client
