"""Use cases of sharing a case outside the office: the office shares a case with a police or property
account of its community for a stated purpose (协查, 维修 …), lists a case's shares and revokes one.
Each is audited; what a shared account then sees is `policies.reach_of`'s rule, applied everywhere."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jiayuan.accounts.service import users
from jiayuan.accounts.service.audit import record_audit
from jiayuan.cases import policies, repository
from jiayuan.cases.models import CaseShare
from jiayuan.cases.schemas import ShareIn, ShareOut, SharePurpose
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Conflict, NotFound
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory


def share_case(session: Session, *, actor: Principal, case_id: int, data: ShareIn) -> ShareOut:
    """Let one police or property account of the case's community read it, for `data.purpose`."""
    case = policies.require_visible(actor, repository.case_by_id(session, case_id))
    policies.require_sharer(actor, case)
    target = users.active_principal_by_id(session, data.user_id)
    works_in: frozenset[int] = frozenset()
    if target is not None:
        compounds = (directory.community_of_scope(session, "compound", str(i)) for i in target.compound_ids)
        works_in = target.community_ids | {c for c in compounds if c is not None}
    policies.require_share_target(target, works_in, case.community_id, data.user_id)
    if any(s.user_id == data.user_id and s.revoked_at is None for s in case.shares):
        raise Conflict("事件已共享给账号 #{id}，无需重复共享", field="user_id", id=data.user_id)
    share = CaseShare(
        case_id=case.id,
        user_id=data.user_id,
        purpose=data.purpose.value,
        note=data.note,
        shared_by_user_id=actor.user_id,
        shared_by_name=actor.username[:64],
        shared_at=utcnow(),
    )
    case.shares.append(share)
    session.flush()
    _audit(session, actor, share, "case.share", case.title, case.community_id)
    return _out(session, [share])[0]


def revoke_share(session: Session, *, actor: Principal, case_id: int, share_id: int) -> ShareOut:
    """End a share: from now on the account no longer reaches the case (the record stays)."""
    case = policies.require_visible(actor, repository.case_by_id(session, case_id))
    policies.require_sharer(actor, case)
    share = repository.share_by_id(session, share_id)
    if share is None or share.case_id != case.id:
        raise NotFound("共享记录不存在", field="share_id")
    if share.revoked_at is not None:
        raise Conflict("该共享已撤销", field="share_id")
    share.revoked_at = utcnow()
    share.revoked_by_name = actor.username[:64]
    _audit(session, actor, share, "case.unshare", case.title, case.community_id)
    return _out(session, [share])[0]


def list_shares(session: Session, *, actor: Principal, case_id: int) -> list[ShareOut]:
    """A case's shares, active and revoked, for the office of its community."""
    case = policies.require_visible(actor, repository.case_by_id(session, case_id))
    policies.require_sharer(actor, case)
    return _out(session, case.shares)


def _audit(
    session: Session, actor: Principal, share: CaseShare, action: str, title: str, community: int
) -> None:
    record_audit(
        session,
        actor=actor,
        action=action,
        target_type="case",
        target_id=share.case_id,
        target_label=title,
        reason=SharePurpose(share.purpose).label + (f"：{share.note}" if share.note else ""),
        community_id=community,
        detail={"share_id": share.id, "user_id": share.user_id, "purpose": share.purpose},
    )


def _out(session: Session, shares: list[CaseShare]) -> list[ShareOut]:
    names = users.display_names(session, sorted({s.user_id for s in shares})) if shares else {}
    return [
        ShareOut(
            id=s.id,
            case_id=s.case_id,
            user_id=s.user_id,
            user_name=names.get(s.user_id, f"#{s.user_id}"),
            purpose=SharePurpose(s.purpose),
            purpose_label=SharePurpose(s.purpose).label,
            note=s.note,
            shared_by_name=s.shared_by_name,
            shared_at=s.shared_at,
            revoked_at=s.revoked_at,
            revoked_by_name=s.revoked_by_name,
            active=s.revoked_at is None,
        )
        for s in shares
    ]
