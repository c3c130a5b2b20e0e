"""Who may do what with users, tokens and the audit log."""

from __future__ import annotations

from jiayuan.accounts.models import User
from jiayuan.accounts.schemas import ScopeKind
from jiayuan.kernel.errors import Forbidden, Invalid, NotFound
from jiayuan.kernel.principal import Principal, Role
from jiayuan.kernel.scopes import CommunityOf


def visible_communities(actor: Principal) -> frozenset[int] | None:
    """The communities whose users and audit rows the actor sees; None means all of them.

    An admin without a community scope administers the whole installation (the district office,
    or the first account made at setup); an admin with community scopes sees only those.
    """
    if actor.is_system or not actor.community_ids:
        return None
    return actor.community_ids


def may_manage_users(actor: Principal) -> bool:
    """Only admins manage users."""
    return actor.has_role(Role.ADMIN)


def may_read_audit(actor: Principal) -> bool:
    """Only admins read and export the audit log."""
    return actor.has_role(Role.ADMIN)


def require_user_admin(actor: Principal) -> None:
    """Refuse all but admins."""
    if not may_manage_users(actor):
        raise Forbidden("只有管理员可以管理用户")


def require_audit_reader(actor: Principal) -> None:
    """Refuse all but admins."""
    if not may_read_audit(actor):
        raise Forbidden("只有管理员可以查看审计日志")


def user_in_scope(actor: Principal, user: User) -> bool:
    """Whether every community the user belongs to is one the actor administers.

    A user of several communities is managed by the admins of all of them (or of the installation):
    resetting the password of someone who also works in another community would hand the resetter
    that community too. A user of no community (installation-wide) is the installation admins' only.
    """
    communities = visible_communities(actor)
    if communities is None:
        return True
    own = {s.ref_id for s in user.scopes if s.kind == ScopeKind.COMMUNITY.value}
    return bool(own) and own <= communities


def require_user_visible(actor: Principal, user: User | None) -> User:
    """The user, if the actor may manage it; otherwise 404 so other communities' users stay unknown."""
    require_user_admin(actor)
    if user is None or not user_in_scope(actor, user):
        raise NotFound("用户不存在")
    return user


def require_scopes_grantable(
    actor: Principal, scopes: list[tuple[ScopeKind, int]], community_of: CommunityOf | None
) -> None:
    """Every granted scope must name an existing registry object inside the actor's communities.

    A target outside them gets the same answer as one that does not exist, so an admin cannot learn
    another community's ids by granting them. The platform itself (CLI, seeding) may grant in any
    community; given the lookup (the CLI), it too is told which scope does not exist.
    """
    if actor.is_system and community_of is None:
        return
    communities = visible_communities(actor)
    if communities is not None and not any(kind is ScopeKind.COMMUNITY for kind, _ in scopes):
        raise Invalid("请为新用户指定所属社区（community:编号）", field="scopes")
    for kind, ref in scopes:
        if community_of is not None:
            owner = community_of(kind.value, str(ref))
        else:  # without the registry's lookup only a community can be placed (it is its own owner)
            owner = ref if kind is ScopeKind.COMMUNITY else None
        if owner is None or (communities is not None and owner not in communities):
            raise Invalid("范围 {kind}:{ref} 不存在", field="scopes", kind=kind.value, ref=ref)


def require_token_issuer(
    actor: Principal, *, for_user: User | None, device_id: str | None, device_community: int | None = None
) -> None:
    """Anyone signed in may make tokens for themselves; tokens for others or devices need an admin.

    A device token needs the device's community, which only the devices domain can look up
    (`devices.service.tokens.issue_device_token`); without it, or outside the admin's communities, the
    device is unknown (404, as for one that does not exist).
    """
    if device_id is not None:
        if actor.is_system:
            return
        if not actor.has_role(Role.ADMIN):
            raise Forbidden("只有管理员可以签发设备令牌")
        communities = visible_communities(actor)
        if device_community is None or (communities is not None and device_community not in communities):
            raise NotFound("设备不存在", field="device_id")
        return
    if for_user is not None and for_user.id == actor.user_id:
        return
    require_user_visible(actor, for_user)


def may_manage_token(actor: Principal, *, owner_id: int | None) -> bool:
    """Whether the actor may see or revoke a token: their own, or any one as an admin."""
    if actor.has_role(Role.ADMIN):
        return True
    return owner_id is not None and owner_id == actor.user_id


def device_token_in_scope(actor: Principal, device_community: int | None) -> bool:
    """A device's tokens are its community's admins' (or the installation's); a token of a device that
    is gone or belongs to no community is the installation admins' only."""
    if actor.is_system:
        return True
    if not actor.has_role(Role.ADMIN):
        return False
    communities = visible_communities(actor)
    return communities is None or (device_community is not None and device_community in communities)


def lockout_visible(actor: Principal, *, has_username: bool, owner: User | None) -> bool:
    """Which login locks an admin sees and lifts.

    A lock on an address alone names no one: every admin may lift it (an office behind one address).
    A lock on a username belongs to that user's admins; one on a username nobody has (guessing) only
    to admins of the whole installation, so usernames tried elsewhere stay unknown.
    """
    if not actor.has_role(Role.ADMIN):
        return False
    if not has_username:
        return True
    if owner is None:
        return visible_communities(actor) is None
    return user_in_scope(actor, owner)
