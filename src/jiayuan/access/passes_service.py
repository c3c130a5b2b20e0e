"""Use cases of passes: issue e-passes, invite visitors, revoke, isolate, verify at a gate."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.access import flow, gate_checks, policies
from jiayuan.access.gates import GateRef
from jiayuan.access.models import Isolation, PassCheck, PassRevocation, VisitorPass
from jiayuan.access.passes import Signer
from jiayuan.access.plates import normalise
from jiayuan.access.schemas import IsolationIn, IssuedPass, RevokeIn, VisitorInvite, VisitorOut
from jiayuan.accounts.service import record_audit
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault, mask_phone
from jiayuan.kernel.errors import Conflict, Invalid, NotFound
from jiayuan.kernel.principal import Principal
from jiayuan.registry import directory
from jiayuan.registry.validation import validate_phone

MIN_VALIDITY_S, MAX_VALIDITY_S = 30, 60


def issue_resident_pass(
    session: Session,
    *,
    actor: Principal,
    signer: Signer,
    person_id: int,
    validity_s: int = 45,
    now: datetime | None = None,
) -> IssuedPass:
    """A resident's e-pass for their compound, valid 30–60 s (the phone shows a new one each time)."""
    person = directory.person(session, person_id)
    if person is None:
        raise NotFound("居民不存在", field="resident")
    policies.require_can_issue_resident_pass(
        actor, person_id=person_id, household_id=person.household_id, community_id=person.community_id
    )
    if person.moved_out:
        raise Conflict("该居民已迁出，不能签发通行码", field="resident")
    now = now or utcnow()
    validity = min(max(validity_s, MIN_VALIDITY_S), MAX_VALIDITY_S)
    iat = int(now.timestamp())
    token, claims = signer.sign(
        kind="r", person=person_id, household=person.household_id, compounds=[person.compound_id], iat=iat,
        exp=iat + validity,
    )  # fmt: skip
    return IssuedPass(token=token, expires_at=datetime.fromtimestamp(claims.exp, tz=now.tzinfo), kind="r")


def invite_visitor(
    session: Session, *, actor: Principal, vault: PiiVault, invite: VisitorInvite
) -> VisitorPass:
    """Register a visitor for a household: their QR works only in the window, at that compound, N times."""
    place = directory.household_compound(session, invite.household_id)
    if place is None:
        raise NotFound("住户不存在", field="household_id")
    compound_id, community_id = place
    policies.require_can_invite(actor, household_id=invite.household_id, community_id=community_id)
    phone = validate_phone(invite.phone)
    plate = None
    if invite.plate:
        normalised = normalise(invite.plate)
        if not normalised.valid_format:
            raise Invalid(f"车牌格式不正确：{'；'.join(normalised.notes)}", field="plate")
        plate = normalised.text
    visitor = VisitorPass(
        household_id=invite.household_id,
        compound_id=compound_id,
        community_id=community_id,
        name=invite.name,
        phone_cipher=vault.encrypt(phone, context="visitor.phone"),
        phone_tail=phone[-4:],
        plate=plate,
        valid_from=invite.valid_from,
        valid_until=invite.valid_until,
        entries_allowed=invite.entries,
        invited_by_user_id=actor.user_id,
    )
    session.add(visitor)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="visitor.invite",
        target_type="visitor_pass",
        target_id=visitor.id,
        target_label=invite.name,
        community_id=community_id,
        detail={"household_id": invite.household_id, "entries": invite.entries},
    )
    return visitor


def visitor_out(visitor: VisitorPass, *, vault: PiiVault, token: str | None = None) -> VisitorOut:
    """The API shape of a visitor pass."""
    return VisitorOut(
        id=visitor.id,
        household_id=visitor.household_id,
        compound_id=visitor.compound_id,
        name=visitor.name,
        phone_masked=mask_phone(vault.decrypt(visitor.phone_cipher, context="visitor.phone")),
        plate=visitor.plate,
        valid_from=visitor.valid_from,
        valid_until=visitor.valid_until,
        entries_allowed=visitor.entries_allowed,
        entries_used=visitor.entries_used,
        revoked=visitor.revoked_at is not None,
        token=token,
    )


def visitor_token(
    session: Session, *, actor: Principal, signer: Signer, visitor_id: int, now: datetime | None = None
) -> IssuedPass:
    """The visitor's QR token: valid until the end of the window (sent to the visitor once)."""
    visitor = session.get(VisitorPass, visitor_id)
    if visitor is None:
        raise NotFound("访客通行证不存在", field="visitor_id")
    policies.require_can_invite(actor, household_id=visitor.household_id, community_id=visitor.community_id)
    now = now or utcnow()
    token, _ = signer.sign(
        kind="v", person=visitor.id, household=visitor.household_id, compounds=[visitor.compound_id],
        iat=int(now.timestamp()), exp=int(visitor.valid_until.timestamp()),
    )  # fmt: skip
    return IssuedPass(token=token, expires_at=visitor.valid_until, kind="v")


def revoke(session: Session, *, actor: Principal, data: RevokeIn) -> PassRevocation:
    """Add to the revocation list (idempotent)."""
    community_id = _community_of_ref(session, data.ref)
    policies.require_can_manage_passes(actor, community_id=community_id)
    existing = session.scalar(select(PassRevocation).where(PassRevocation.ref == data.ref))
    if existing is not None:
        return existing
    entry = PassRevocation(ref=data.ref, community_id=community_id, reason=data.reason, revoked_at=utcnow())
    session.add(entry)
    if data.ref.startswith("v:"):
        visitor = session.get(VisitorPass, int(data.ref[2:]))
        if visitor is not None and visitor.revoked_at is None:
            visitor.revoked_at = entry.revoked_at
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="pass.revoke",
        target_type="pass",
        target_id=data.ref,
        reason=data.reason,
        community_id=community_id,
    )
    return entry


def _community_of_ref(session: Session, ref: str) -> int | None:
    if ref.startswith("p:"):
        person = directory.person(session, int(ref[2:]))
        if person is None:
            raise NotFound("居民不存在", field="ref")
        return person.community_id
    if ref.startswith("v:"):
        visitor = session.get(VisitorPass, int(ref[2:]))
        if visitor is None:
            raise NotFound("访客通行证不存在", field="ref")
        return visitor.community_id
    return None


def revocation_list(session: Session) -> tuple[int, list[str]]:
    """`(version, refs)`: the version grows with every entry, so readers know when to refresh."""
    version = session.scalar(select(func.max(PassRevocation.id))) or 0
    return version, list(session.scalars(select(PassRevocation.ref).order_by(PassRevocation.id)))


def record_isolation(session: Session, *, actor: Principal, data: IsolationIn) -> Isolation:
    """Register a home isolation (with consent, purpose and end date) that the gates enforce."""
    person = directory.person(session, data.person_id)
    if person is None:
        raise NotFound("居民不存在", field="person_id")
    policies.require_can_manage_passes(actor, community_id=person.community_id)
    record = Isolation(
        person_id=data.person_id,
        community_id=person.community_id,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        purpose=data.purpose,
        consent_recorded=data.consent_recorded,
        created_by_user_id=actor.user_id,
    )
    session.add(record)
    session.flush()
    record_audit(
        session, actor=actor, action="isolation.record", target_type="resident", target_id=data.person_id,
        reason=data.purpose, community_id=person.community_id, detail={"ends_at": data.ends_at.isoformat()},
    )  # fmt: skip
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
) -> PassCheck:
    """Check a token at a gate (by id or code) and record the decision, as a reader would."""
    gate = directory.gate_by_ref(session, gate_ref)
    if gate is None:
        raise NotFound(f"出入口 {gate_ref} 不存在", field="gate")
    policies.require_can_verify(actor, community_id=gate.community_id, compound_id=gate.compound_id)
    if actor.device_id is not None and actor.device_id not in gate.device_ids:
        raise NotFound(f"出入口 {gate_ref} 不存在", field="gate")
    if direction not in ("in", "out"):
        raise Invalid("方向须为 in 或 out", field="direction")
    check = gate_checks.check(
        session,
        token=token,
        gate=GateRef.of_gate(gate),
        direction=direction,
        at=now or utcnow(),
        public_keys=public_keys,
    )
    flow.flush(session)
    return check


def pass_material(session: Session, *, signer: Signer) -> dict[str, dict[str, object]]:
    """The payloads of the `keys` and `revocations` commands a gate reader needs to verify offline."""
    version, refs = revocation_list(session)
    keys = [{"kid": kid, "ed25519": key} for kid, key in signer.public_keys().items()]
    return {"keys": {"keys": keys}, "revocations": {"version": version, "revoked": refs}}
