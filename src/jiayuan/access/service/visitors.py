"""Use cases of visitor passes: invite, list, show, cancel, and the visitor's QR token."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from jiayuan.access import policies, repository
from jiayuan.access.models import VisitorPass
from jiayuan.access.pass_tokens import Signer
from jiayuan.access.plates import normalise
from jiayuan.access.schemas import IssuedPass, VisitorFilter, VisitorInvite, VisitorOut
from jiayuan.access.service import passes
from jiayuan.access.states import VisitorState, visitor_state
from jiayuan.accounts.service.audit import record_audit
from jiayuan.accounts.service.users import display_names
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.crypto import PiiVault, mask_phone
from jiayuan.kernel.errors import Conflict, Invalid, NotFound
from jiayuan.kernel.paging import Page, PageParams
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.policies import Location
from jiayuan.registry.service import directory
from jiayuan.registry.validation import validate_phone


def invite_visitor(
    session: Session, *, actor: Principal, vault: PiiVault, invite: VisitorInvite
) -> VisitorOut:
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
            raise Invalid("车牌格式不正确：{notes}", field="plate", notes="；".join(normalised.notes))
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
    return describe_visitors(session, [visitor], vault=vault)[0]


def describe_visitors(
    session: Session, visitors: list[VisitorPass], *, vault: PiiVault, at: datetime | None = None
) -> list[VisitorOut]:
    """The API shape of visitor passes: place, state at `at`, who invited; phone masked."""
    at = at or utcnow()
    places = directory.household_places(session, [v.household_id for v in visitors])
    names = display_names(session, [v.invited_by_user_id for v in visitors if v.invited_by_user_id])
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
    query = repository.visitors_where(scope, criteria, at=now)
    total = repository.count(session, query)
    rows = repository.page_of(session, query, offset=params.offset, size=params.size)
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
    vault: PiiVault,
    visitor_id: int,
    reason: str | None = None,
    now: datetime | None = None,
) -> VisitorOut:
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
    passes.add_revocation(
        session, ref=f"v:{visitor.id}", community_id=visitor.community_id, reason=reason, at=now
    )
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
    return describe_visitors(session, [visitor], vault=vault, at=now)[0]


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
