"""Revocations reach the gate readers at once: a cancelled visitor pass is refused offline too.

Readers verify passes offline against the last revocation list they were sent. When a pass is
revoked here (a household or the office cancels a visitor pass, staff revoke a person's passes),
every enabled QR reader gets the new list over its command topic as soon as the change commits.
A reader that is offline then gets it when it comes back (the ingest process sends keys and list
to every reader that comes online).
"""

from __future__ import annotations

import logging
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.access.events import PassRevoked
from jiayuan.access.service import passes
from jiayuan.broker_link import background_client
from jiayuan.bus import bus
from jiayuan.bus.events import DomainEvent
from jiayuan.db.uow import unit_of_work
from jiayuan.devices import commands
from jiayuan.devices.protocol import Topics

log = logging.getLogger(__name__)


class ReaderUpdates:
    """Sends each QR reader its `revocations` list after each committed revocation (QoS 1)."""

    def __init__(self, url: str, *, prefix: str, sessions: sessionmaker[Session]) -> None:
        self._topics = Topics(prefix)
        self._sessions = sessions
        self._client = background_client(url, name="reader-updates")

    def start(self) -> ReaderUpdates:
        """Connect in the background and follow revocations."""
        self._client.loop_start()
        bus.subscribe(PassRevoked, self._on_revoked)
        return self

    def _on_revoked(self, _event: DomainEvent) -> None:
        # The list is read after the commit, so two revocations in quick succession both end
        # with the newest list; readers keep the highest version they have seen.
        with unit_of_work(self._sessions) as session:
            payloads: dict[str, dict[str, Any]] = {
                reader: passes.revocations_payload(session, reader=reader)
                for reader in passes.qr_readers(session)
            }
        for device_id, payload in payloads.items():
            body = commands.build(device_id, "revocations", payload)
            info = self._client.publish(self._topics.commands(device_id), body, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                reason = mqtt.error_string(info.rc)
                log.warning(
                    "revocations v%s for %s wait for the broker: %s", payload["version"], device_id, reason
                )

    def close(self) -> None:
        """Stop following revocations and disconnect."""
        bus.unsubscribe(PassRevoked, self._on_revoked)
        self._client.disconnect()
        self._client.loop_stop()
