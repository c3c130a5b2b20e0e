"""One warning when the database goes away and one summary when it is back, however long it lasts."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from jiayuan.db.errors import short_message

log = logging.getLogger("jiayuan.ingest.runner")


@dataclass
class OutageLog:
    """Tracks one database outage at a time for the ingest loop's log."""

    database: str
    since: float | None = None
    retries: int = 0
    held: int = 0

    @property
    def ongoing(self) -> bool:
        """Whether the database is away right now."""
        return self.since is not None

    def failed(self, exc: BaseException, *, held: int) -> None:
        """A transaction could not reach the database; warn only on the first failure of an outage."""
        self.held = max(self.held, held)
        if self.since is not None:
            self.retries += 1
            return
        self.since = time.monotonic()
        self.retries = 0
        log.warning(
            "database unavailable at %s (%s); %d messages held unacknowledged on the broker, retrying",
            self.database,
            short_message(exc),
            held,
        )

    def succeeded(self) -> None:
        """A transaction committed: close the outage, if any, with a summary."""
        if self.since is None:
            return
        log.warning(
            "database back at %s after %.1f s: %d retries, %d messages were held and are being stored",
            self.database,
            time.monotonic() - self.since,
            self.retries,
            self.held,
        )
        self.since = None
        self.held = 0
