"""Device tokens: issued here, where the device can be looked up, and stored by accounts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from jiayuan.accounts.schemas import TokenIssued, TokenOut
from jiayuan.accounts.service import tokens
from jiayuan.kernel.errors import Forbidden, NotFound
from jiayuan.kernel.principal import Principal, Role
from jiayuan.kernel.scopes import DeviceCommunities
from jiayuan.registry.service import directory


def issue_device_token(
    session: Session, *, actor: Principal, device_id: str, name: str, expires_at: datetime | None = None
) -> TokenIssued:
    """A token for a registered device (its MQTT password / HTTP bearer).

    The accounts policy decides with the device's community: a device another community runs is
    reported exactly like one that does not exist.
    """
    if not actor.has_role(Role.ADMIN):
        raise Forbidden("只有管理员可以签发设备令牌")
    device_id = device_id.strip()
    device = directory.devices_by_ids(session, [device_id]).get(device_id) if device_id else None
    if device is None:
        raise NotFound("设备不存在", field="device_id")
    return tokens.create_api_token(
        session,
        actor=actor,
        name=name,
        device_id=device_id,
        expires_at=expires_at,
        device_community=device.community_id,
    )


def list_tokens(session: Session, *, actor: Principal) -> list[TokenOut]:
    """The tokens the actor may manage; device tokens only of devices in the admin's communities."""
    return tokens.list_api_tokens(session, actor=actor, device_communities=_communities_of(session))


def revoke_token(session: Session, *, actor: Principal, token_id: int) -> TokenOut:
    """Revoke one token; another community's device token reads as one that does not exist."""
    return tokens.revoke_api_token(
        session, actor=actor, token_id=token_id, device_communities=_communities_of(session)
    )


def _communities_of(session: Session) -> DeviceCommunities:
    def lookup(device_ids: Iterable[str]) -> Mapping[str, int | None]:
        return {d.id: d.community_id for d in directory.devices_by_ids(session, device_ids).values()}

    return lookup
