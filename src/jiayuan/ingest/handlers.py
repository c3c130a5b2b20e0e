"""What the ingest process runs in its own transactions besides the batches: the checks that fall due
with time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from jiayuan.access.service import gate_events
from jiayuan.cases import intake
from jiayuan.cases import service as cases
from jiayuan.devices.service import pipeline as devices
from jiayuan.kernel.principal import Principal


def every_second(session: Session, *, now: datetime) -> None:
    """The checks that fall due with time: `device_offline` for every gate device whose silence fell due
    (with its case), and the escalation of every case whose step fell due."""
    system = Principal.system()
    silent = devices.claim_silent(session, actor=system, now=now)
    if silent:
        gate_events.raise_device_offline(session, actor=system, devices=silent, now=now)
        intake.open_cases(session)
    cases.escalate_overdue(session, actor=system, now=now)
