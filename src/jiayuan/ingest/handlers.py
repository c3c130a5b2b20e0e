"""Hand a committed-to-be batch to the domains, in the ingest transaction."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from jiayuan.access.events import AlarmRaised
from jiayuan.access.service import gate_events
from jiayuan.bus.bus import pending
from jiayuan.cases import service as cases
from jiayuan.cases.schemas import AlarmCase
from jiayuan.devices.service import pipeline as devices
from jiayuan.devices.service.pipeline import BatchOutcome
from jiayuan.duty.service import templates as duty_templates
from jiayuan.kernel.clock import local
from jiayuan.kernel.principal import Principal

log = logging.getLogger(__name__)


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


def every_second(session: Session, *, now: datetime) -> None:
    """The checks that fall due with time: `device_offline` for every gate device whose silence fell due
    (with its case), and the escalation of every case whose step fell due."""
    system = Principal.system()
    silent = devices.claim_silent(session, actor=system, now=now)
    if silent:
        gate_events.raise_device_offline(session, actor=system, devices=silent, now=now)
        open_cases(session)
    cases.escalate_overdue(session, actor=system, now=now)


def keep_rosters(session: Session, *, now: datetime) -> None:
    """Every community's duty roster produced ahead from its weekly templates; a community whose
    templates clash is logged and keeps its roster as it was."""
    for upkeep in duty_templates.extend_rosters(session, actor=Principal.system(), today=local(now).date()):
        if upkeep.refused is not None:
            log.warning("duty roster of community %s not extended: %s", upkeep.community_id, upkeep.refused)


def open_cases(session: Session) -> None:
    """A case for every gate alarm raised so far in this transaction that has none yet."""
    alarms = [e for e in pending(session) if isinstance(e, AlarmRaised)]
    raised = [
        AlarmCase(
            a.alarm_id, a.type, a.community_id, a.compound_id, a.gate_id, a.device_id, a.summary, a.evidence
        )
        for a in alarms
    ]
    if raised:
        cases.open_from_alarms(session, actor=Principal.system(), alarms=raised)
