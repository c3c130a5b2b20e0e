"""A database that refuses some device events: a trigger on `device_events` raising on a marker.

Real refusals for the ingest's poison tests and bench; on PostgreSQL after a pause, so that a test can
take the database away while one is running.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

MARKER = "POISON-7f3a"


def install_poison(engine: Engine, *, pause_s: float) -> None:
    """Make the database refuse any event whose payload holds MARKER (after `pause_s` on PostgreSQL)."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                text(f"""
                CREATE OR REPLACE FUNCTION jytest_poison() RETURNS trigger AS $$
                BEGIN
                  IF NEW.payload::text LIKE '%{MARKER}%' THEN
                    PERFORM pg_sleep({pause_s});
                    RAISE EXCEPTION 'poison payload refused';
                  END IF;
                  RETURN NEW;
                END $$ LANGUAGE plpgsql""")
            )
            connection.execute(
                text(
                    "CREATE TRIGGER jytest_poison BEFORE INSERT ON device_events "
                    "FOR EACH ROW EXECUTE FUNCTION jytest_poison()"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER jytest_poison BEFORE INSERT ON device_events "
                    f"WHEN NEW.payload LIKE '%{MARKER}%' "
                    "BEGIN SELECT RAISE(ABORT, 'poison payload refused'); END"
                )
            )


def remove_poison(engine: Engine) -> None:
    _drop_trigger(engine, "jytest_poison", "device_events")


def install_refused_silence(engine: Engine) -> None:
    """Make the database refuse marking any device silent: the liveness check fails on every round."""
    _refuse(
        engine,
        "jytest_refuse_silence",
        "silence refused",
        postgresql="BEFORE UPDATE ON device_status FOR EACH ROW WHEN (NEW.silent AND NOT OLD.silent)",
        sqlite="BEFORE UPDATE OF silent ON device_status WHEN NEW.silent AND NOT OLD.silent",
    )


def remove_refused_silence(engine: Engine) -> None:
    _drop_trigger(engine, "jytest_refuse_silence", "device_status")


def install_refused_snapshots(engine: Engine) -> None:
    """Make the database refuse every stored snapshot row."""
    _refuse(
        engine,
        "jytest_refuse_snapshot",
        "snapshot refused",
        postgresql="BEFORE INSERT ON device_snapshots FOR EACH ROW",
        sqlite="BEFORE INSERT ON device_snapshots",
    )


def remove_refused_snapshots(engine: Engine) -> None:
    """Undo `install_refused_snapshots`."""
    _drop_trigger(engine, "jytest_refuse_snapshot", "device_snapshots")


def _drop_trigger(engine: Engine, name: str, table: str) -> None:
    """Drop a trigger `name` on `table` (and its function on PostgreSQL) if it is there."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
            connection.execute(text(f"DROP FUNCTION IF EXISTS {name}()"))
        else:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))


def _refuse(engine: Engine, name: str, message: str, *, postgresql: str, sqlite: str) -> None:
    """A trigger `name` that raises `message`; the clauses say when, in each database's syntax."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                text(f"""
                CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
                BEGIN RAISE EXCEPTION '{message}'; END $$ LANGUAGE plpgsql""")
            )
            connection.execute(text(f"CREATE TRIGGER {name} {postgresql} EXECUTE FUNCTION {name}()"))
        else:
            connection.execute(
                text(f"CREATE TRIGGER {name} {sqlite} BEGIN SELECT RAISE(ABORT, '{message}'); END")
            )
