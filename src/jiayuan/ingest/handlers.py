"""What the ingest process runs in its own transactions besides the batches: the checks that fall due
with time."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from jiayuan.access.service import gate_events
from jiayuan.cases.service import intake, uploads, workflow
from jiayuan.devices.service import pipeline as devices
from jiayuan.duty.service import templates as duty_templates
from jiayuan.kernel.clock import local
from jiayuan.kernel.principal import Principal

log = logging.getLogger(__name__)


def every_second(session: Session, *, now: datetime) -> None:
    """The checks that fall due with time: `device_offline` for every gate device whose silence fell due
    (with its case), the escalation of every case whose step fell due, and the reminder to everyone whose
    shift has begun."""
    system = Principal.system()
    silent = devices.claim_silent(session, actor=system, now=now)
    if silent:
        gate_events.raise_device_offline(session, actor=system, devices=silent, now=now)
        intake.open_cases(session)
    workflow.escalate_overdue(session, actor=system, now=now)
    workflow.remind_shift_starts(session, actor=system, now=now)


def hourly(session: Session, *, now: datetime) -> None:
    """Every community's duty roster produced ahead from its weekly templates (a community whose
    templates clash is logged and keeps its roster as it was), and the photos and voice notes uploaded
    but never given with a report or an action within a day dropped."""
    system = Principal.system()
    dropped = uploads.drop_waiting_uploads(session, actor=system, now=now)
    if dropped:
        log.info("dropped %d case uploads never given with a report or an action", dropped)
    for upkeep in duty_templates.extend_rosters(session, actor=system, today=local(now).date()):
        if upkeep.refused is not None:
            log.warning("duty roster of community %s not extended: %s", upkeep.community_id, upkeep.refused)
