"""Use case of device batches: a batch of device events reaches the access domain, and every alarm it
raises opens its case, in the batch's own transaction. The MQTT ingest and the HTTP push both come
through here, so a gate alarm opens a case whichever way the device sent it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from jiayuan.access.events import AlarmRaised
from jiayuan.access.service import gate_events
from jiayuan.bus.bus import pending
from jiayuan.cases.schemas import AlarmCase
from jiayuan.cases.service import reporting
from jiayuan.devices.service.pipeline import BatchOutcome
from jiayuan.kernel.principal import Principal


def dispatch(
    session: Session, outcome: BatchOutcome, *, public_keys: dict[str, str], now: datetime | None = None
) -> None:
    """Let the access domain react to the batch's new events, and every alarm it raised open its case,
    before the batch commits."""
    gate_events.handle_device_events(
        session,
        actor=Principal.system(),
        accepted=outcome.accepted,
        came_back=outcome.came_back,
        public_keys=public_keys,
        now=now,
    )
    open_cases(session)


def open_cases(session: Session) -> None:
    """A case for every gate alarm raised so far in this transaction that has none yet."""
    alarms = [e for e in pending(session) if isinstance(e, AlarmRaised)]
    raised = [
        AlarmCase(
            a.alarm_id,
            a.type,
            a.community_id,
            a.compound_id,
            a.gate_id,
            a.device_id,
            a.summary,
            a.evidence,
            raised_at=a.occurred_at,
        )
        for a in alarms
    ]
    if raised:
        reporting.open_from_alarms(session, actor=Principal.system(), alarms=raised)
