"""扫码验码 on the platform: signature, expiry, revocation, compound, isolation, replay, visitor rules;
from a reader's scan or from a person checking a token at a gate."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from jiayuan.access import policies, repository
from jiayuan.access.events import PassChecked
from jiayuan.access.models import PassCheck, PassUse, VisitorPass
from jiayuan.access.pass_tokens import BadPass, Claims, verify
from jiayuan.access.schemas import CheckOut, GateRef
from jiayuan.access.service import alarms, flow
from jiayuan.bus.bus import publish_on_commit
from jiayuan.db.base import table_of
from jiayuan.db.bulk import insert_rows
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Invalid, NotFound
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory
from jiayuan.registry.service.directory import DeviceInfo

REASONS = (
    "ok",
    "expired",
    "bad_signature",
    "replayed",
    "wrong_compound",
    "revoked",
    "isolation",
    "visitor_window",
    "visitor_used_up",
)


def _revoked(session: Session, claims: Claims, gate: GateRef) -> bool:
    refs = [claims.n, f"{'p' if claims.t == 'r' else 'v'}:{claims.p}"]
    return repository.any_revoked(session, refs, community_id=gate.community_id)


def _decide(
    session: Session, claims: Claims, *, gate: GateRef, direction: str, at: datetime
) -> tuple[str, VisitorPass | None]:
    if at.timestamp() > claims.exp:
        return "expired", None
    if _revoked(session, claims, gate):
        return "revoked", None
    if gate.compound_id not in claims.c:
        return "wrong_compound", None
    if claims.t == "r":
        if repository.active_isolation(session, claims.p, at) is not None:
            return "isolation", None
        used = insert_rows(
            session,
            table_of(PassUse),
            [{"nonce": claims.n, "direction": direction, "used_at": at}],
            ignore_conflicts_on=("nonce", "direction"),
            returning=("id",),
        )
        return ("ok" if used else "replayed"), None
    visitor = session.get(VisitorPass, claims.p)
    if visitor is None or visitor.revoked_at is not None or visitor.household_id != claims.h:
        return "revoked", visitor
    if not visitor.valid_from <= at <= visitor.valid_until:
        return "visitor_window", visitor
    if direction == "in":
        # One atomic step, so two gates reading the same code at once cannot both use the last entry.
        taken = session.execute(
            update(VisitorPass)
            .where(VisitorPass.id == visitor.id, VisitorPass.entries_used < VisitorPass.entries_allowed)
            .values(entries_used=VisitorPass.entries_used + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 0:  # type: ignore[attr-defined]
            return "visitor_used_up", visitor
        session.refresh(visitor)
    return "ok", visitor


def check(
    session: Session,
    *,
    token: str,
    gate: GateRef,
    direction: str,
    at: datetime,
    public_keys: dict[str, str],
    device: DeviceInfo | None = None,
    device_event_id: int | None = None,
    local_decision: str | None = None,
) -> PassCheck:
    """Decide on one scanned token at a gate, record the result and count it in the flow."""
    claims: Claims | None
    try:
        claims = verify(token, public_keys)
    except BadPass:
        claims = None
    visitor = None
    reason = "bad_signature" if claims is None else "ok"
    if claims is not None:
        reason, visitor = _decide(session, claims, gate=gate, direction=direction, at=at)
    record = PassCheck(
        at=at,
        gate_id=gate.id,
        compound_id=gate.compound_id,
        community_id=gate.community_id,
        device_id=device.id if device else None,
        device_event_id=device_event_id,
        direction=direction,
        kind=claims.t if claims else None,
        person_id=claims.p if claims and claims.t == "r" else None,
        visitor_pass_id=claims.p if claims and claims.t == "v" else None,
        household_id=claims.h if claims else None,
        nonce=claims.n if claims else None,
        decision="ok" if reason == "ok" else "refused",
        reason=reason,
        local_decision=local_decision,
    )
    session.add(record)
    session.flush()
    counter = ("people_in" if direction == "in" else "people_out") if reason == "ok" else "refused"
    flow.bump(
        session,
        gate_id=gate.id,
        compound_id=gate.compound_id,
        community_id=gate.community_id,
        at=at,
        **{counter: 1},
    )
    if reason == "isolation":
        alarms.raise_alarm(
            session,
            type="isolation_scan",
            device=device,
            gate_id=gate.id,
            community_id=gate.community_id,
            compound_id=gate.compound_id,
            at=at,
            summary=f"{gate.name} 居家隔离人员扫码（{'进' if direction == 'in' else '出'}）",
            evidence={
                "pass_check_id": record.id,
                "person_id": record.person_id,
                "device_event_id": device_event_id,
            },
        )
    publish_on_commit(
        session,
        PassChecked(
            community_id=gate.community_id,
            check_id=record.id,
            gate_id=gate.id,
            compound_id=gate.compound_id,
            direction=direction,
            decision=record.decision,
            reason=reason,
            kind=record.kind,
            visitor_entries_left=(visitor.entries_allowed - visitor.entries_used) if visitor else None,
        ),
    )
    return record


def verify_at_gate(
    session: Session,
    *,
    actor: Principal,
    token: str,
    gate_ref: str,
    direction: str,
    public_keys: dict[str, str],
    now: datetime | None = None,
) -> CheckOut:
    """Check a token at a gate (by id or code) and record the decision, as a reader would."""
    policies.require_verifier(actor)
    gate = directory.gate_by_ref(session, gate_ref)
    if gate is None or not policies.verifies_at(
        actor, community_id=gate.community_id, compound_id=gate.compound_id, device_ids=gate.device_ids
    ):  # missing or out of reach: one answer
        raise NotFound("出入口 {gate} 不存在", field="gate", gate=gate_ref)
    if direction not in ("in", "out"):
        raise Invalid("方向须为 in 或 out", field="direction")
    record = check(
        session,
        token=token,
        gate=GateRef.of_gate(gate),
        direction=direction,
        at=now or utcnow(),
        public_keys=public_keys,
    )
    flow.flush(session)
    return CheckOut.model_validate(record)
