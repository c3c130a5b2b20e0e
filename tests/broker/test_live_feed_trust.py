"""The web app's live feed relays only what the platform's ingest signed.

Devices cannot publish on the committed-events topic at all (broker ACL); a client holding the
platform's broker account but not JIAYUAN_SECRET_KEY can, and its messages are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import pytest
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.broker.admin import BrokerAdmin
from jiayuan.broker_link import live_feed_signer
from jiayuan.bus.hub import Hub, Message
from jiayuan.web.live_feed import LiveFeed
from tests.broker.helpers import Probe, eventually
from tests.broker.processes import PrivateBroker
from tests.broker.test_device_logins import PREFIX, QR, issue, push
from tests.factories import seed_site

pytestmark = [pytest.mark.mqtt, pytest.mark.timeout(60)]

COMMITTED = f"{PREFIX}/v1/platform/committed"
SECRET = "the-web-and-ingest-secret-key"


class RecordingHub(Hub):
    """A hub that keeps what the feed hands it."""

    def __init__(self) -> None:
        super().__init__()
        self.relayed: list[Message] = []

    def publish(self, messages: Sequence[Message]) -> None:
        self.relayed.extend(messages)


def batch(alarm: str) -> bytes:
    return orjson.dumps([{"event": "access.alarm", "summary": alarm, "community_id": 1}])


def test_only_signed_messages_reach_live_clients(
    mosquitto: PrivateBroker, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        seed_site(session)
    token = issue(sessions, QR)
    admin = BrokerAdmin(mosquitto.url).start()
    push(sessions, admin, QR)
    admin.close()

    hub = RecordingHub()
    feed = LiveFeed(mosquitto.url, prefix=PREFIX, hub=hub, signer=live_feed_signer(SECRET)).start()
    platform = Probe.platform(mosquitto.url)
    try:
        signer = live_feed_signer(SECRET)
        # The feed subscribes in the background: resend the first signed message until it arrives.
        assert eventually(
            lambda: platform.publish(COMMITTED, signer.sign(batch("first"))) or bool(hub.relayed)
        )

        # A device: the broker drops its message. Anonymous: refused at CONNECT.
        reader = Probe(mosquitto.port, QR, token, client_id=QR)
        assert reader.accepted
        reader.publish(COMMITTED, signer.sign(batch("from a device")))
        assert not Probe(mosquitto.port, None).accepted
        # The platform's broker account without the key: unsigned, and signed with another key.
        platform.publish(COMMITTED, batch("forged, unsigned"))
        platform.publish(COMMITTED, live_feed_signer("another-key").sign(batch("forged, wrong key")))
        platform.publish(COMMITTED, signer.sign(batch("last")))

        assert eventually(lambda: any(m["summary"] == "last" for m in hub.relayed))
        summaries = [m["summary"] for m in hub.relayed if m["summary"] != "first"]
        assert summaries == ["last"]
        assert feed.forged == 2
        reader.close()
    finally:
        platform.close()
        feed.close()
