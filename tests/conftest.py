"""Shared fixtures: every storage test runs on SQLite and on a real PostgreSQL database.

Set JIAYUAN_TEST_BACKENDS=sqlite (or postgresql) to run on one backend only while developing.

Every test starts on an empty database. What a test and the app's requests write goes through one
connection and is rolled back at the end (their commits are SAVEPOINTs): cheap, and nothing leaks.
Code that opens its own connections (the ingest, the CLI, brokers, other processes, an app with a
broker's threads) must see real commits: a test gets those by requesting `real_commits`, which the
`database_url` fixture (the URL handed to such code), `cli_env` and the broker fixtures do for it;
the database is then emptied before the next test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.db.session import make_engine, make_sessionmaker, normalise_url
from jiayuan.kernel.crypto import PiiVault
from jiayuan.settings import Settings, get_settings
from jiayuan.web.context import AppContext
from tests.databases import create_database, drop_database, ensure_empty, is_empty, rolled_back
from tests.lifetime import collect_less, forget_built_apps

MQTT_URL = os.environ.get("JIAYUAN_TEST_MQTT_URL", "")
BACKENDS = os.environ.get("JIAYUAN_TEST_BACKENDS", "sqlite,postgresql").split(",")
TEST_PII_KEY = "test-pii-key-0123456789abcdef"


def pytest_collection_finish(session: pytest.Session) -> None:
    collect_less()


def pytest_runtest_teardown(item: pytest.Item) -> None:
    forget_built_apps()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what needs a broker or a browser wherever it lives, for `-m "not mqtt and not browser"`."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "mqtt_url" in names or "mosquitto" in names:
            item.add_marker(pytest.mark.mqtt)
        if "browser" in names:
            item.add_marker(pytest.mark.browser)


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
def test_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database per backend for the whole session (and per xdist worker)."""
    url = create_database(request.param, tmp_path_factory.mktemp(f"db-{request.param}"))
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def engine(test_database_url: str) -> Iterator[Engine]:
    """The engine of the session's database."""
    engine = make_engine(test_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def real_commits(engine: Engine) -> None:
    """Commits are real in this test (its code opens its own connections); it starts on an empty database."""
    ensure_empty(engine)


@pytest.fixture
def database_url(real_commits: None, test_database_url: str) -> str:
    """The test database's URL, for code that connects by itself: so with real commits."""
    return test_database_url


@pytest.fixture
def mqtt_url(real_commits: None) -> str:
    """The project's test Mosquitto (skipped, saying why, when unset); with a broker, the app and the
    ingest work in threads of their own: real commits."""
    if not MQTT_URL:
        pytest.skip("JIAYUAN_TEST_MQTT_URL is not set (make services starts the project's Mosquitto)")
    return MQTT_URL


@pytest.fixture
def prefix() -> str:
    """A topic prefix and client id of this test alone: tests, workers and runs on a broker never mix."""
    return f"jytest-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI (it reads its settings from the environment) on the test database, without a broker."""
    monkeypatch.setenv("JIAYUAN_DATABASE_URL", database_url)
    monkeypatch.setenv("JIAYUAN_PII_KEY", TEST_PII_KEY)
    monkeypatch.setenv("JIAYUAN_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("JIAYUAN_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.delenv("JIAYUAN_MQTT_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _sharing(factory: sessionmaker[Session], url: URL) -> classmethod[AppContext, [Settings], AppContext]:
    """AppContext.from_settings for apps on the test database: they use the test's sessions."""
    build = AppContext.from_settings

    def from_settings(_cls: type[AppContext], settings: Settings) -> AppContext:
        context = build(settings)
        if make_url(normalise_url(settings.database_url)) == url:
            context.sessions = factory
        return context

    return classmethod(from_settings)


def _no_websocket(*_args: Any, **_kwargs: Any) -> Any:
    # The app would work beside the test on its one connection, which two threads cannot share.
    pytest.fail("a WebSocket keeps the app working beside the test: request the real_commits fixture")


@contextmanager
def sessions_on(connection: Connection) -> Iterator[sessionmaker[Session]]:
    """Sessions on one connection in a transaction, their commits SAVEPOINTs; apps built on its
    database use them too, and WebSockets are refused."""
    factory = sessionmaker(connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AppContext, "from_settings", _sharing(factory, connection.engine.url))
        patch.setattr(TestClient, "websocket_connect", _no_websocket)
        yield factory


@pytest.fixture
def sessions(request: pytest.FixtureRequest, engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory on an empty database.

    Unless the test has real commits, its sessions and those of every app built on the test database
    share one connection, in a transaction rolled back at the end; WebSockets are refused there.
    """
    if "real_commits" in request.fixturenames:
        request.getfixturevalue("real_commits")  # empties the database, whichever fixture comes first
        yield make_sessionmaker(engine)
        return
    ensure_empty(engine)
    with rolled_back(engine) as connection, sessions_on(connection) as factory:
        yield factory
    if not is_empty(engine):
        pytest.fail(
            "rows were committed outside the test's transaction: request the real_commits fixture "
            "where the code under test opens its own database connections"
        )


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
def settings(test_database_url: str, tmp_path: Path) -> Settings:
    """Test settings on the session's database."""
    return make_test_settings(test_database_url, tmp_path)


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
