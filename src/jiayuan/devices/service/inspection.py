"""What the office inspects: each device's liveness and counters, and the messages that were refused."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from jiayuan.devices import policies, repository
from jiayuan.devices.models import DeadLetter, DeviceStatus
from jiayuan.devices.schemas import (
    HEALTH_REASON_LABELS,
    OTHER_HEALTH_REASON,
    DeadLetterCountOut,
    DeadLetterOut,
    DeviceStatusOut,
    HealthReasonOut,
)
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory
from jiayuan.registry.service.directory import DeviceInfo


def dead_letter_counts(session: Session, *, actor: Principal) -> list[DeadLetterCountOut]:
    """Dead letters counted per device and reason (devices outside the actor's scope hidden)."""
    policies.require_can_inspect(actor)
    rows = repository.dead_letter_counts(session)
    allowed = _visible_devices(session, actor, [r[0] for r in rows])
    return [DeadLetterCountOut(device_id=d, reason=reason, count=n) for d, reason, n in rows if d in allowed]


def list_dead_letters(
    session: Session,
    *,
    actor: Principal,
    device_id: str | None = None,
    reason: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[DeadLetterOut]:
    """The newest dead letters, optionally of one device or reason."""
    policies.require_can_inspect(actor)
    rows = repository.dead_letters(
        session, device_id=device_id, reason=reason, limit=min(max(limit, 1), 500), before_id=before_id
    )
    allowed = _visible_devices(session, actor, [r.device_id for r in rows])
    return [_dead_letter_out(r) for r in rows if r.device_id in allowed]


def _dead_letter_out(letter: DeadLetter) -> DeadLetterOut:
    return DeadLetterOut(
        id=letter.id,
        received_at=letter.received_at,
        channel=letter.channel,
        topic=letter.topic,
        device_id=letter.device_id,
        reason=letter.reason,
        detail=letter.detail,
        raw=letter.raw.decode("utf-8", errors="replace"),
        raw_size=letter.raw_size,
    )


def list_status(session: Session, *, actor: Principal) -> list[DeviceStatusOut]:
    """Every visible device with its liveness and counters (a device never heard from is `unknown`)."""
    policies.require_can_inspect(actor)
    devices = [d for d in directory.all_devices(session) if policies.device_visible(actor, d)]
    rows = repository.statuses(session, [d.id for d in devices])
    return [_status_out(d, rows.get(d.id)) for d in devices]


def _status_out(device: DeviceInfo, row: DeviceStatus | None) -> DeviceStatusOut:
    return DeviceStatusOut(
        device_id=device.id,
        name=device.name,
        kind=device.kind,
        enabled=device.enabled,
        gate_id=device.gate_id,
        gate_name=device.gate_name,
        compound_id=device.compound_id,
        state=row.state if row else "unknown",
        state_at=row.state_at if row else None,
        last_seen_at=row.last_seen_at if row else None,
        last_heartbeat_at=row.last_heartbeat_at if row else None,
        silent=row.silent if row else False,
        fw=row.fw if row else None,
        events_accepted=row.events_accepted if row else 0,
        duplicates=row.duplicates if row else 0,
        dead_letters=row.dead_letters if row else 0,
        health=row.health if row and not row.silent else None,
        health_reasons=health_reasons(row),
    )


def health_reasons(row: DeviceStatus | None) -> list[HealthReasonOut]:
    """The reasons a device runs degraded, as its newest status message gave them (none when it is
    not degraded, or has gone silent since)."""
    if row is None or row.silent or row.health != "degraded":
        return []
    return [
        HealthReasonOut(
            code=r["code"], label=HEALTH_REASON_LABELS.get(r["code"], OTHER_HEALTH_REASON), text=r["text"]
        )
        for r in row.health_reasons or []
    ]


def _visible_devices(session: Session, actor: Principal, device_ids: Iterable[str | None]) -> set[str | None]:
    """The device ids among `device_ids` the actor may see (None: a message naming no device)."""
    wanted = set(device_ids)
    infos = directory.devices_by_ids(session, [d for d in wanted if d is not None])
    unregistered = policies.sees_unregistered(actor)
    return {
        d
        for d in wanted
        if (policies.device_visible(actor, infos[d]) if d is not None and d in infos else unregistered)
    }
