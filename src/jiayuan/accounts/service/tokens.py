"""API and device tokens: issue, tell whom a bearer token acts as, list, revoke (one, or every token of a
device)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from jiayuan.accounts import policies, repository
from jiayuan.accounts.events import DeviceTokensRevoked
from jiayuan.accounts.models import ApiToken
from jiayuan.accounts.schemas import TokenIssued, TokenOut
from jiayuan.accounts.service.audit import record_audit
from jiayuan.accounts.service.sessions import _TOUCH_EVERY
from jiayuan.accounts.service.users import _hash, principal_of, user_community
from jiayuan.bus.bus import publish_on_commit
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from jiayuan.kernel.principal import Principal, Role
from jiayuan.kernel.scopes import DeviceCommunities

USER_TOKEN_PREFIX = "jy_"  # noqa: S105
DEVICE_TOKEN_PREFIX = "jyd_"  # noqa: S105
DEFAULT_TOKEN_MAX_DAYS = 90


def create_api_token(
    session: Session,
    *,
    actor: Principal,
    name: str,
    user_id: int | None = None,
    device_id: str | None = None,
    expires_at: datetime | None = None,
    device_community: int | None = None,
    max_days: int = DEFAULT_TOKEN_MAX_DAYS,
) -> TokenIssued:
    """Issue a bearer token for a user or a device; its plain value is returned this once only.

    Device tokens go through `devices.service.tokens.issue_device_token`, which checks that the device
    exists and passes its community as `device_community`; they live until revoked. A user's token
    lives at most `max_days` (JIAYUAN_API_TOKEN_MAX_DAYS): no expiry, or a later one, becomes that limit.
    """
    if actor.role is Role.DEVICE:
        raise Forbidden("设备令牌不能再签发令牌")
    name = name.strip()[:64]
    if not name:
        raise Invalid("令牌名称不能为空", field="name")
    if (user_id is None) == (device_id is None):
        raise Invalid("请指定用户或设备之一（user_id 或 device_id）", field="user_id")
    user = None
    if user_id is not None:
        user = repository.user_by_id(session, user_id)
    if device_id is not None:
        device_id = device_id.strip()
        if not device_id or len(device_id) > 64:
            raise Invalid("设备编号须为 1–64 个字符", field="device_id")
    policies.require_token_issuer(
        actor, for_user=user, device_id=device_id, device_community=device_community
    )
    if user is not None and not user.is_active:
        raise Conflict("该用户已停用，不能签发令牌", field="user_id")
    now = utcnow()
    if expires_at is not None and expires_at <= now:
        raise Invalid("到期时间（expires_at）必须晚于现在", field="expires_at")
    if device_id is None:
        latest = now + timedelta(days=max_days)
        expires_at = latest if expires_at is None else min(expires_at, latest)
    prefix = DEVICE_TOKEN_PREFIX if device_id is not None else USER_TOKEN_PREFIX
    plain = prefix + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        token_hash=_hash(plain),
        user_id=user_id,
        device_id=device_id,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="token.issue",
        target_type="device" if device_id is not None else "user",
        target_id=device_id if device_id is not None else user_id,
        target_label=device_id if device_id is not None else (user.username if user else None),
        community_id=user_community(user) if user else device_community,
        detail={"token_id": token.id, "name": name},
    )
    return TokenIssued(
        id=token.id,
        token=plain,
        name=name,
        user_id=user_id,
        device_id=device_id,
        expires_at=expires_at,
    )


def issue_api_token(
    session: Session,
    *,
    actor: Principal,
    name: str,
    user_id: int | None = None,
    device_id: str | None = None,
    expires_at: datetime | None = None,
    max_days: int = DEFAULT_TOKEN_MAX_DAYS,
) -> str:
    """Issue a bearer token and return only its plain value (shown once, stored as a hash)."""
    return create_api_token(
        session,
        actor=actor,
        name=name,
        user_id=user_id,
        device_id=device_id,
        expires_at=expires_at,
        max_days=max_days,
    ).token


def principal_for_token(session: Session, token: str) -> Principal:
    """Who a bearer token acts as; a device token gives Role.DEVICE with its device id."""
    if not token.startswith((USER_TOKEN_PREFIX, DEVICE_TOKEN_PREFIX)) or len(token) > 128:
        raise Unauthorized("令牌无效")
    row = repository.api_token_by_hash(session, _hash(token))
    now = utcnow()
    if row is None:
        raise Unauthorized("令牌无效")
    if row.revoked_at is not None:
        raise Unauthorized("令牌已被吊销")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthorized("令牌已过期")
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        row.last_used_at = now
    if row.device_id is not None:
        return Principal(role=Role.DEVICE, username=f"device:{row.device_id}", device_id=row.device_id)
    user = repository.user_by_id(session, row.user_id) if row.user_id is not None else None
    if user is None or not user.is_active:
        raise Unauthorized("令牌所属账户已停用")
    return principal_of(user)


def list_api_tokens(
    session: Session, *, actor: Principal, device_communities: DeviceCommunities | None = None
) -> list[TokenOut]:
    """Tokens the actor may manage: their own, or, as an admin, those of the users and devices of
    their communities. Without `device_communities` (the devices domain's lookup) device tokens are
    shown to installation admins only."""
    if actor.role is Role.DEVICE:
        raise Forbidden("设备不能查看令牌")
    rows = repository.api_tokens(session, user_id=None if actor.has_role(Role.ADMIN) else actor.user_id)
    places = _device_places(rows, device_communities)
    return [TokenOut.model_validate(t) for t in rows if _token_visible(session, actor, t, places)]


def revoke_api_token(
    session: Session, *, actor: Principal, token_id: int, device_communities: DeviceCommunities | None = None
) -> TokenOut:
    """Revoke a token at once; revoking twice is harmless. A token out of reach reads as unknown."""
    token = session.get(ApiToken, token_id)
    if actor.role is Role.DEVICE:
        raise Forbidden("设备不能吊销令牌")
    places = _device_places([token] if token else [], device_communities)
    if token is None or not _token_visible(session, actor, token, places):
        raise NotFound("令牌不存在", field="token_id")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_audit(
            session,
            actor=actor,
            action="token.revoke",
            target_type="device" if token.device_id is not None else "user",
            target_id=token.device_id if token.device_id is not None else token.user_id,
            community_id=places.get(token.device_id) if token.device_id is not None else None,
            detail={"token_id": token.id, "name": token.name},
        )
        if token.device_id is not None:
            publish_on_commit(session, DeviceTokensRevoked(device_id=token.device_id, token_ids=[token.id]))
    return TokenOut.model_validate(token)


def revoke_device_tokens(
    session: Session, *, actor: Principal, device_id: str, community_id: int | None, reason: str
) -> int:
    """Revoke every live token of a device (when it is disabled, removed or compromised); returns how many.

    The caller (`devices.service.lifecycle`) has decided that the actor may switch this device; the revocation
    is audited as the actor's, with their reason.
    """
    now = utcnow()
    live = [t for t in repository.device_tokens(session, device_id) if t.revoked_at is None]
    for token in live:
        token.revoked_at = now
    if live:
        record_audit(
            session,
            actor=actor,
            action="token.revoke",
            target_type="device",
            target_id=device_id,
            reason=reason,
            community_id=community_id,
            detail={"token_ids": [t.id for t in live]},
        )
        publish_on_commit(session, DeviceTokensRevoked(device_id=device_id, token_ids=[t.id for t in live]))
    return len(live)


def device_token_ids(session: Session, device_id: str) -> tuple[list[int], list[int]]:
    """`(live, dead)`: the ids of a device's tokens that still work, newest first (the broker's password
    is the first), and of those revoked or expired. A token issued after this read is in neither."""
    now = utcnow()
    tokens = repository.device_tokens(session, device_id)
    live = [t for t in tokens if t.revoked_at is None and (t.expires_at is None or t.expires_at > now)]
    dead = [t.id for t in tokens if t not in live]
    return [t.id for t in sorted(live, key=lambda t: (t.created_at, t.id), reverse=True)], dead


def _device_places(
    tokens: Iterable[ApiToken], device_communities: DeviceCommunities | None
) -> Mapping[str, int | None]:
    device_ids = {t.device_id for t in tokens if t.device_id is not None}
    if not device_ids or device_communities is None:
        return {}
    return device_communities(device_ids)


def _token_visible(
    session: Session, actor: Principal, token: ApiToken, device_places: Mapping[str, int | None]
) -> bool:
    if token.device_id is not None:
        return policies.device_token_in_scope(actor, device_places.get(token.device_id))
    if not policies.may_manage_token(actor, owner_id=token.user_id):
        return False
    if token.user_id is None or token.user_id == actor.user_id:
        return True
    owner = repository.user_by_id(session, token.user_id)
    return owner is not None and policies.user_in_scope(actor, owner)
