"""Use cases of passes: issue e-passes, invite, list and cancel visitors, revoke, isolate, verify."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from jiayuan.access import flow, gate_checks, policies, visitor_queries
from jiayuan.access.events import PassRevoked
from jiayuan.access.gates import GateRef
from jiayuan.access.models import Isolation, PassCheck, PassRevocation, VisitorPass
from jiayuan.access.passes import Signer
from jiayuan.access.plates import normalise
from jiayuan.access.schemas import (
    IsolationIn,
    IssuedPass,
    RevokeIn,
    VisitorFilter,
    VisitorInvite,
    VisitorOut,
)
from jiayuan.access.states import VisitorState, visitor_state
from jiayuan.accounts import repository as accounts
from jiayuan.accounts.service import record_audit
from jiayuan.bus import bus
from jiayuan.devices.commands import QR_KINDS
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault, mask_phone
from jiayuan.kernel.errors import Conflict, Invalid, NotFound
from jiayuan.kernel.paging import Page, PageParams
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry import directory
from jiayuan.registry.policies import Location
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
    policies.require_inviter(actor)
    place = directory.household_compound(session, invite.household_id)
    if place is None or not policies.may_invite_for(
        actor, household_id=invite.household_id, community_id=place[1]
    ):  # missing or out of reach: one answer
        raise NotFound("住户不存在", field="household_id")
    compound_id, community_id = place
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


def describe_visitors(
    session: Session, visitors: list[VisitorPass], *, vault: PiiVault, at: datetime | None = None
) -> list[VisitorOut]:
    """The API shape of visitor passes: place, state at `at`, who invited; phone masked."""
    at = at or utcnow()
    places = directory.household_places(session, [v.household_id for v in visitors])
    names = accounts.display_names(session, [v.invited_by_user_id for v in visitors if v.invited_by_user_id])
    described = []
    for visitor in visitors:
        place = places.get(visitor.household_id)
        state = visitor_state(visitor, at=at)
        described.append(
            VisitorOut(
                id=visitor.id,
                household_id=visitor.household_id,
                household=place.label if place else "",
                compound_id=visitor.compound_id,
                compound=place.compound_name if place else "",
                name=visitor.name,
                phone_masked=mask_phone(vault.decrypt(visitor.phone_cipher, context="visitor.phone")),
                plate=visitor.plate,
                valid_from=visitor.valid_from,
                valid_until=visitor.valid_until,
                entries_allowed=visitor.entries_allowed,
                entries_used=visitor.entries_used,
                status=state,
                status_label=state.label,
                revoked=visitor.revoked_at is not None,
                revoked_at=visitor.revoked_at,
                invited_by=names.get(visitor.invited_by_user_id) if visitor.invited_by_user_id else None,
                created_at=visitor.created_at,
            )
        )
    return described


def list_visitors(
    session: Session,
    *,
    actor: Principal,
    vault: PiiVault,
    criteria: VisitorFilter,
    params: PageParams,
    now: datetime | None = None,
) -> Page[VisitorOut]:
    """Visitor passes in the actor's scope, newest first; a filter outside the scope finds nothing."""
    scope = policies.visitor_scope(actor)
    now = now or utcnow()
    query = visitor_queries.visitors_where(scope, criteria, at=now)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(session.scalars(query.offset(params.offset).limit(params.size)))
    return Page[VisitorOut](
        items=describe_visitors(session, rows, vault=vault, at=now), total=total, page=params.page,
        size=params.size,
    )  # fmt: skip


def _visible_visitor(session: Session, actor: Principal, visitor_id: int) -> tuple[VisitorPass, Location]:
    policies.visitor_scope(actor)  # roles without any access are refused before the id is looked at
    visitor = session.get(VisitorPass, visitor_id)
    if visitor is None:
        raise NotFound("访客通行证不存在", field="visitor_id")
    place = directory.household_places(session, [visitor.household_id]).get(visitor.household_id)
    where = Location(
        community_id=visitor.community_id,
        compound_id=visitor.compound_id,
        household_id=visitor.household_id,
        grid_ids=place.grid_ids if place else frozenset(),
    )
    policies.require_visitor_visible(actor, where)
    return visitor, where


def show_visitor(
    session: Session, *, actor: Principal, vault: PiiVault, visitor_id: int, now: datetime | None = None
) -> VisitorOut:
    """One visitor pass in the actor's scope (404 outside it)."""
    visitor, _ = _visible_visitor(session, actor, visitor_id)
    return describe_visitors(session, [visitor], vault=vault, at=now)[0]


def cancel_visitor(
    session: Session,
    *,
    actor: Principal,
    visitor_id: int,
    reason: str | None = None,
    now: datetime | None = None,
) -> VisitorPass:
    """撤销: put the pass on the revocation list, so every gate refuses it as `revoked`; audited."""
    visitor, where = _visible_visitor(session, actor, visitor_id)
    policies.require_can_cancel_visitor(actor, where)
    now = now or utcnow()
    state = visitor_state(visitor, at=now)
    if state is VisitorState.REVOKED:
        raise Conflict("该访客通行证已撤销，无需重复撤销", field="visitor_id")
    if state is VisitorState.EXPIRED:
        raise Conflict("该访客通行证已过期，无需撤销", field="visitor_id")
    reason = reason or ("住户撤销邀请" if actor.role is Role.RESIDENT else "社区撤销访客通行证")
    _add_revocation(session, ref=f"v:{visitor.id}", community_id=visitor.community_id, reason=reason, at=now)
    record_audit(
        session,
        actor=actor,
        action="visitor.cancel",
        target_type="visitor_pass",
        target_id=visitor.id,
        target_label=visitor.name,
        reason=reason,
        community_id=visitor.community_id,
        detail={"household_id": visitor.household_id, "entries_used": visitor.entries_used},
    )
    return visitor


def visitor_token(
    session: Session, *, actor: Principal, signer: Signer, visitor_id: int, now: datetime | None = None
) -> IssuedPass:
    """The visitor's QR token: valid until the end of the window (sent to the visitor once)."""
    policies.require_inviter(actor)
    visitor = session.get(VisitorPass, visitor_id)
    if visitor is None or not policies.may_invite_for(
        actor, household_id=visitor.household_id, community_id=visitor.community_id
    ):
        raise NotFound("访客通行证不存在", field="visitor_id")
    now = now or utcnow()
    token, _ = signer.sign(
        kind="v", person=visitor.id, household=visitor.household_id, compounds=[visitor.compound_id],
        iat=int(now.timestamp()), exp=int(visitor.valid_until.timestamp()),
    )  # fmt: skip
    return IssuedPass(token=token, expires_at=visitor.valid_until, kind="v")


def revoke(session: Session, *, actor: Principal, data: RevokeIn) -> PassRevocation:
    """Add to the revocation list (idempotent)."""
    policies.require_pass_manager(actor)
    community_id = _community_of_ref(session, actor, data.ref)
    existing = session.scalar(select(PassRevocation).where(PassRevocation.ref == data.ref))
    if existing is not None:
        return existing
    entry = _add_revocation(session, ref=data.ref, community_id=community_id, reason=data.reason, at=utcnow())
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


def _add_revocation(
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
    """The community of a revoked person or visitor pass; one out of the actor's reach is missing."""
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
    return community_id


def revocation_list(session: Session, *, actor: Principal) -> tuple[int, list[str]]:
    """`(version, refs)` of the entries in the actor's scope: the version grows with every entry, so
    readers know when to refresh."""
    ids = [actor.device_id] if actor.device_id else []
    device = directory.devices_by_ids(session, ids).get(actor.device_id or "")
    communities = policies.revocation_communities(
        actor, device_community=device.community_id if device is not None else None
    )
    query = select(PassRevocation.id, PassRevocation.ref).order_by(PassRevocation.id)
    if communities is not None:
        query = query.where(
            or_(PassRevocation.community_id.is_(None), PassRevocation.community_id.in_(sorted(communities)))
        )
    rows = session.execute(query).all()
    return (rows[-1][0] if rows else 0), [ref for _, ref in rows]


def record_isolation(session: Session, *, actor: Principal, data: IsolationIn) -> Isolation:
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
    policies.require_verifier(actor)
    gate = directory.gate_by_ref(session, gate_ref)
    if gate is None or not policies.verifies_at(
        actor, community_id=gate.community_id, compound_id=gate.compound_id, device_ids=gate.device_ids
    ):  # missing or out of reach: one answer
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
