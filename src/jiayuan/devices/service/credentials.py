"""Device logins on the MQTT broker: which token is a device's password, kept sealed for the broker.

A device may hold several live tokens (a replacement issued before the old one is revoked), but the
broker keeps one password per client: the NEWEST live token is the MQTT password; older live tokens
keep working over HTTP only. Revoking the newest makes the next newest live one the password again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from jiayuan.accounts.schemas import TokenIssued
from jiayuan.accounts.service.tokens import device_token_ids, principal_for_token
from jiayuan.bus.bus import publish_on_commit
from jiayuan.devices import policies, repository
from jiayuan.devices.events import DeviceAccessChanged
from jiayuan.devices.service import tokens
from jiayuan.kernel.errors import Unauthorized
from jiayuan.kernel.keys import Sealer, UnsealError
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory
from jiayuan.registry.service.directory import DeviceInfo

log = logging.getLogger(__name__)

SEAL_PURPOSE = "device-broker-password"


def sealer_for(secret_key: str) -> Sealer:
    """The sealer of device broker passwords, from JIAYUAN_SECRET_KEY."""
    return Sealer.from_secret(secret_key, SEAL_PURPOSE)


def _context(device_id: str, token_id: int) -> str:
    return f"{device_id}:{token_id}"


def issue_token(
    session: Session,
    *,
    actor: Principal,
    device_id: str,
    name: str,
    sealer: Sealer,
    expires_at: datetime | None = None,
) -> TokenIssued:
    """Issue a device token (HTTP bearer and MQTT password) and keep it sealed for the broker."""
    issued = tokens.issue_device_token(
        session, actor=actor, device_id=device_id, name=name, expires_at=expires_at
    )
    device_id = issued.device_id or device_id
    sealed = sealer.seal(issued.token, context=_context(device_id, issued.id))
    repository.add_credential(session, token_id=issued.id, device_id=device_id, sealed=sealed)
    info = directory.devices_by_ids(session, [device_id]).get(device_id)
    publish_on_commit(
        session,
        DeviceAccessChanged(
            device_id=device_id,
            enabled=info is not None and info.enabled,
            community_id=info.community_id if info else None,
        ),
    )
    return issued


@dataclass(frozen=True)
class BrokerLogin:
    """What the broker should know of one device: its password, or None to refuse it (and why)."""

    device_id: str
    password: str | None
    token_id: int | None = None
    on_broker: bool = False  # the broker already holds this password
    why_refused: str | None = None


def broker_logins(
    session: Session, *, actor: Principal, sealer: Sealer, device_ids: Iterable[str] | None = None
) -> list[BrokerLogin]:
    """The broker login of each device (every registered one, and any holding a sealed token, if None).

    Sealed copies of tokens that no longer work are deleted on the way.
    """
    policies.require_can_publish(actor, "")  # the platform itself only
    if device_ids is None:
        wanted = {d.id for d in directory.all_devices(session)}
        wanted |= repository.credential_device_ids(session)
    else:
        wanted = set(device_ids)
    known = directory.devices_by_ids(session, wanted)
    return [_login(session, device_id, known.get(device_id), sealer) for device_id in sorted(wanted)]


def mark_on_broker(session: Session, *, actor: Principal, login: BrokerLogin) -> None:
    """Remember which token's password the broker now holds for this device (none when refused)."""
    policies.require_can_publish(actor, "")
    for row in repository.credentials_of(session, login.device_id):
        row.on_broker = login.password is not None and row.token_id == login.token_id


def _login(
    session: Session, device_id: str, device: directory.DeviceInfo | None, sealer: Sealer
) -> BrokerLogin:
    live, dead = device_token_ids(session, device_id)
    # Only copies of tokens known dead go: "not live" would also take a token issued and committed
    # since `live` was read (PostgreSQL's next statement sees it), leaving its device locked out.
    if dead:
        repository.delete_credentials(session, device_id, dead)
    if device is None:
        return BrokerLogin(device_id, None, why_refused="设备未登记")
    if not device.enabled:
        return BrokerLogin(device_id, None, why_refused="设备已停用")
    rows = {c.token_id: c for c in repository.credentials_of(session, device_id)}
    for token_id in live:
        row = rows.get(token_id)
        if row is None:
            continue
        try:
            password = sealer.unseal(row.sealed, context=_context(device_id, token_id))
        except UnsealError:
            log.warning(
                "broker password of %s (token %s) cannot be opened with this key", device_id, token_id
            )
            continue
        return BrokerLogin(device_id, password, token_id, row.on_broker)
    if live:
        return BrokerLogin(
            device_id, None, why_refused="有效令牌签发于启用 MQTT 登录之前或密钥已更换：请重新签发令牌"
        )
    return BrokerLogin(device_id, None, why_refused="没有有效令牌")


def check_broker_login(session: Session, *, device_id: str, token: str) -> DeviceInfo:
    """The registered, enabled device signing in to the MQTT broker with its own token.

    Raises Unauthorized saying why not (the message never repeats the token).
    """
    device = directory.devices_by_ids(session, [device_id]).get(device_id)
    if device is None:
        raise Unauthorized("设备未登记", field="username")
    if not device.enabled:
        raise Unauthorized("设备已停用", field="username")
    principal = principal_for_token(session, token)
    if principal.device_id != device_id:
        raise Unauthorized("令牌不属于该设备", field="password")
    return device
