"""Hand a committed-to-be batch to the domains, in the ingest transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from jiayuan.access import service as access
from jiayuan.devices import service as devices
from jiayuan.devices.service import BatchOutcome
from jiayuan.kernel.principal import Principal


def dispatch(
    session: Session, outcome: BatchOutcome, *, public_keys: dict[str, str], now: datetime | None = None
) -> None:
    """Let the access domain react to the batch's new events before the batch commits."""
    access.handle_device_events(
        session,
        actor=Principal.system(),
        accepted=outcome.accepted,
        came_back=outcome.came_back,
        public_keys=public_keys,
        now=now,
    )


def check_liveness(session: Session, *, now: datetime) -> None:
    """Raise `device_offline` for every gate device whose silence fell due."""
    system = Principal.system()
    silent = devices.claim_silent(session, actor=system, now=now)
    if silent:
        access.raise_device_offline(session, actor=system, devices=silent, now=now)
