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
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER IF EXISTS jytest_poison ON device_events"))
            connection.execute(text("DROP FUNCTION IF EXISTS jytest_poison()"))
        else:
            connection.execute(text("DROP TRIGGER IF EXISTS jytest_poison"))


def install_refused_silence(engine: Engine) -> None:
    """Make the database refuse marking any device silent: the liveness check fails on every round."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                text("""
                CREATE OR REPLACE FUNCTION jytest_refuse_silence() RETURNS trigger AS $$
                BEGIN
                  RAISE EXCEPTION 'silence refused';
                END $$ LANGUAGE plpgsql""")
            )
            connection.execute(
                text(
                    "CREATE TRIGGER jytest_refuse_silence BEFORE UPDATE ON device_status FOR EACH ROW "
                    "WHEN (NEW.silent AND NOT OLD.silent) EXECUTE FUNCTION jytest_refuse_silence()"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER jytest_refuse_silence BEFORE UPDATE OF silent ON device_status "
                    "WHEN NEW.silent AND NOT OLD.silent "
                    "BEGIN SELECT RAISE(ABORT, 'silence refused'); END"
                )
            )


def remove_refused_silence(engine: Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER IF EXISTS jytest_refuse_silence ON device_status"))
            connection.execute(text("DROP FUNCTION IF EXISTS jytest_refuse_silence()"))
        else:
            connection.execute(text("DROP TRIGGER IF EXISTS jytest_refuse_silence"))


def install_refused_snapshots(engine: Engine) -> None:
    """Make the database refuse every stored snapshot row."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                text("""
                CREATE OR REPLACE FUNCTION jytest_refuse_snapshot() RETURNS trigger AS $$
                BEGIN RAISE EXCEPTION 'snapshot refused'; END $$ LANGUAGE plpgsql""")
            )
            connection.execute(
                text(
                    "CREATE TRIGGER jytest_refuse_snapshot BEFORE INSERT ON device_snapshots "
                    "FOR EACH ROW EXECUTE FUNCTION jytest_refuse_snapshot()"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER jytest_refuse_snapshot BEFORE INSERT ON device_snapshots "
                    "BEGIN SELECT RAISE(ABORT, 'snapshot refused'); END"
                )
            )


def remove_refused_snapshots(engine: Engine) -> None:
    """Undo `install_refused_snapshots`."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER IF EXISTS jytest_refuse_snapshot ON device_snapshots"))
        else:
            connection.execute(text("DROP TRIGGER IF EXISTS jytest_refuse_snapshot"))
