"""Keeping the broker's device logins in step with the platform (DESIGN.md §3, docs/devices.md).

- `sync_devices` pushes what the devices service says each device's login is: its newest live
  token as password, or refused (disabled, no live token).
- `BrokerSync` does it at once after a commit that changes a device's access (a token issued or
  revoked, the device disabled or enabled), on a worker thread so the request does not wait.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.events import DeviceTokensRevoked
from jiayuan.broker import dynsec
from jiayuan.broker.admin import BrokerAdmin, BrokerAdminError, BrokerSilent, check
from jiayuan.bus import bus
from jiayuan.bus.events import DomainEvent
from jiayuan.db.uow import unit_of_work
from jiayuan.devices.events import DeviceAccessChanged
from jiayuan.devices.service import credentials
from jiayuan.devices.service.credentials import BrokerLogin
from jiayuan.kernel.keys import Sealer
from jiayuan.kernel.principal import Principal

log = logging.getLogger(__name__)

_EVERY_DEVICE = ""  # no device id is empty


@dataclass(frozen=True)
class Synced:
    """One device as pushed: allowed with its password, or refused and why."""

    login: BrokerLogin
    error: str | None = None


def apply(admin: BrokerAdmin, login: BrokerLogin, *, prefix: str, force: bool = False) -> None:
    """Make the broker hold this login; a changed password or a refusal disconnects the device."""
    if login.password is None:
        check(admin.run(dynsec.disable(login.device_id)))
        return
    commands = dynsec.create_device(login.device_id, login.password, prefix=prefix)
    if force or not login.on_broker:
        commands += dynsec.set_password(login.device_id, login.password)
    check(admin.run(commands + dynsec.enable(login.device_id)))


def sync_devices(
    sessions: sessionmaker[Session],
    admin: BrokerAdmin,
    *,
    sealer: Sealer,
    prefix: str,
    device_ids: Iterable[str] | None = None,
    force: bool = False,
) -> list[Synced]:
    """Push the logins of these devices (all when None); returns what happened to each."""
    system = Principal.system()
    with unit_of_work(sessions) as session:
        logins = credentials.broker_logins(session, actor=system, sealer=sealer, device_ids=device_ids)
    results: list[Synced] = []
    silent: str | None = None
    for login in logins:
        if silent is not None:  # a broker that did not answer once will not for the next device either
            results.append(Synced(login, silent))
            continue
        try:
            apply(admin, login, prefix=prefix, force=force)
        except BrokerSilent as exc:
            silent = str(exc)
            results.append(Synced(login, silent))
        except BrokerAdminError as exc:
            results.append(Synced(login, str(exc)))
        else:
            results.append(Synced(login))
    with unit_of_work(sessions) as session:
        for result in results:
            if result.error is None:
                credentials.mark_on_broker(session, actor=system, login=result.login)
    return results


class BrokerSync:
    """Follows device access changes after each commit and pushes them to the broker."""

    def __init__(self, url: str, *, sessions: sessionmaker[Session], sealer: Sealer, prefix: str) -> None:
        self._admin = BrokerAdmin(url)
        self._sessions = sessions
        self._sealer = sealer
        self._prefix = prefix
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="jiayuan-broker-sync", daemon=True)

    def start(self) -> BrokerSync:
        """Connect, push every device once (changes made while no web process ran, expired tokens),
        then follow the bus."""
        self._admin.start()
        self._thread.start()
        self._queue.put(_EVERY_DEVICE)
        bus.subscribe(DeviceAccessChanged, self._on_change)
        bus.subscribe(DeviceTokensRevoked, self._on_change)
        return self

    def _on_change(self, event: DomainEvent) -> None:
        device_id = getattr(event, "device_id", None)
        if isinstance(device_id, str):
            self._queue.put(device_id)

    def _work(self) -> None:
        while (device_id := self._queue.get()) is not None:
            try:
                for result in sync_devices(
                    self._sessions,
                    self._admin,
                    sealer=self._sealer,
                    prefix=self._prefix,
                    device_ids=None if device_id == _EVERY_DEVICE else [device_id],
                ):
                    if result.error:
                        log.error("broker login of %s not updated: %s", result.login.device_id, result.error)
            except Exception:
                log.exception("broker login of %s not updated", device_id)
            finally:
                self._queue.task_done()

    def wait_idle(self) -> None:
        """Block until every queued change has been pushed (tests, shutdown)."""
        self._queue.join()

    def close(self) -> None:
        """Stop following the bus, finish what is queued, disconnect."""
        bus.unsubscribe(DeviceAccessChanged, self._on_change)
        bus.unsubscribe(DeviceTokensRevoked, self._on_change)
        self._queue.put(None)
        self._thread.join(timeout=15)
        self._admin.close()
