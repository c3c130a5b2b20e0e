"""What the running application holds: settings, database sessions, the PII vault."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.kernel.crypto import PiiVault
from jiayuan.settings import Settings


@dataclass
class AppContext:
    """Long-lived objects shared by every request of one application."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    vault: PiiVault

    @classmethod
    def from_settings(cls, settings: Settings) -> AppContext:
        """Open the configured database and derive the PII keys."""
        engine = make_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            vault=PiiVault.from_secret(settings.pii_key.get_secret_value()),
        )
