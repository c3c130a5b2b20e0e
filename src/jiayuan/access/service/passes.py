"""Use cases of e-passes: issue residents' passes, the revocation list, home isolations, and the keys and
revocations each gate reader needs to verify offline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from jiayuan.access import policies, repository
from jiayuan.access.events import PassRevoked
from jiayuan.access.models import Isolation, PassRevocation, VisitorPass
from jiayuan.access.pass_tokens import Signer
from jiayuan.access.schemas import IsolationIn, IsolationOut, IssuedPass, RevocationOut, RevokeIn
from jiayuan.accounts.service.audit import record_audit
from jiayuan.bus import bus
from jiayuan.devices.commands import QR_KINDS
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Conflict, NotFound
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.service import directory

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


def revoke(session: Session, *, actor: Principal, data: RevokeIn) -> RevocationOut:
    """Add to the revocation list (idempotent)."""
    policies.require_pass_manager(actor)
    community_id = _community_of_ref(session, actor, data.ref)
    existing = repository.revocation_by_ref(session, data.ref)
    if existing is not None:
        return RevocationOut.model_validate(existing)
    entry = add_revocation(session, ref=data.ref, community_id=community_id, reason=data.reason, at=utcnow())
    record_audit(
        session,
        actor=actor,
        action="pass.revoke",
        target_type="pass",
        target_id=data.ref,
        reason=data.reason,
        community_id=community_id,
    )
    return RevocationOut.model_validate(entry)


def add_revocation(
    session: Session, *, ref: str, community_id: int | None, reason: str, at: datetime
) -> PassRevocation:
    """One new entry of the revocation list; a visitor pass is also marked revoked on its row."""
    entry = PassRevocation(ref=ref, community_id=community_id, reason=reason, revoked_at=at)
    session.add(entry)
    if ref.startswith("v:"):
        visitor = session.get(VisitorPass, int(ref[2:]))
        if visitor is not None and visitor.revoked_at is None:
            visitor.revoked_at = at
    session.flush()
    bus.publish_on_commit(session, PassRevoked(community_id=community_id, revocation_version=entry.id))
    return entry


def _community_of_ref(session: Session, actor: Principal, ref: str) -> int | None:
    """The community a revocation applies in: the person's or visitor pass's (one out of the actor's reach
    is missing), or for a bare nonce the actor's own."""
    community_id: int | None = None
    if ref.startswith("p:"):
        person = directory.person(session, int(ref[2:]))
        community_id = person.community_id if person is not None else None
        if person is None or not policies.manages_passes_of(actor, community_id=community_id):
            raise NotFound("居民不存在", field="ref")
    elif ref.startswith("v:"):
        visitor = session.get(VisitorPass, int(ref[2:]))
        community_id = visitor.community_id if visitor is not None else None
        if visitor is None or not policies.manages_passes_of(actor, community_id=community_id):
            raise NotFound("访客通行证不存在", field="ref")
    else:
        community_id = policies.nonce_revocation_community(actor)
    return community_id


def revocation_list(session: Session, *, actor: Principal) -> tuple[int, list[str]]:
    """`(version, refs)` of the entries in the actor's scope: the version grows with every entry, so
    readers know when to refresh."""
    ids = [actor.device_id] if actor.device_id else []
    device = directory.devices_by_ids(session, ids).get(actor.device_id or "")
    communities = policies.revocation_communities(
        actor, device_community=device.community_id if device is not None else None
    )
    rows = repository.revocation_entries(session, communities)
    return (rows[-1][0] if rows else 0), [ref for _, ref in rows]


def record_isolation(session: Session, *, actor: Principal, data: IsolationIn) -> IsolationOut:
    """Register a home isolation (with consent, purpose and end date) that the gates enforce."""
    policies.require_pass_manager(actor)
    person = directory.person(session, data.person_id)
    if person is None or not policies.manages_passes_of(actor, community_id=person.community_id):
        raise NotFound("居民不存在", field="person_id")
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
    return IsolationOut.model_validate(record)


def qr_readers(session: Session) -> list[str]:
    """The ids of the enabled QR readers at gates: where keys and revocation lists are sent."""
    return [
        d.id
        for d in directory.all_devices(session)
        if d.kind in QR_KINDS and d.enabled and d.gate_id is not None
    ]


def revocations_payload(session: Session, *, reader: str) -> dict[str, object]:
    """The payload of the `revocations` command for one reader: only its gate's community's entries
    (and those of no community), exactly what that reader's own token may read."""
    as_reader = Principal(role=Role.DEVICE, username=f"device:{reader}", device_id=reader)
    version, refs = revocation_list(session, actor=as_reader)
    return {"version": version, "revoked": refs}


def pass_material(session: Session, *, signer: Signer, reader: str) -> dict[str, dict[str, object]]:
    """The payloads of the `keys` and `revocations` commands one gate reader needs to verify offline."""
    keys = [{"kid": kid, "ed25519": key} for kid, key in signer.public_keys().items()]
    return {"keys": {"keys": keys}, "revocations": revocations_payload(session, reader=reader)}
