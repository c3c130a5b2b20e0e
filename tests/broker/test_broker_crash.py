"""A SIGKILL of the recommended broker (docs/brokers.md) with a backlog queued loses nothing.

The shipped Mosquitto configuration saves its queue every 1,000 changes; devices that keep their
outbox until the platform's `delivered` receipt send again what the crash took. A plain device that
trusts the broker's PUBACK loses what was not yet saved, at most the configured bound.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.broker.config import AUTOSAVE_CHANGES
from tests.broker.crash import CrashResult, crash_with_backlog
from tests.broker.processes import PrivateBroker
from tests.conftest import make_test_settings
from tests.factories import seed_site

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]

# Not a multiple of the autosave bound, so the last changes before the crash were never saved.
EVENTS = 2 * AUTOSAVE_CHANGES + AUTOSAVE_CHANGES // 2


def _crash(
    broker: PrivateBroker, database_url: str, tmp_path: Path, sessions: sessionmaker[Session], *, outbox: bool
) -> CrashResult:
    with sessions() as session:
        seed_site(session)
    settings = make_test_settings(database_url, tmp_path).model_copy(
        update={"mqtt_url": broker.url, "mqtt_topic_prefix": "crash", "mqtt_client_id": "crash-ingest"}
    )
    return crash_with_backlog(broker, broker.url, settings, sessions, events=EVENTS, outbox=outbox)


def test_devices_with_an_outbox_lose_nothing_when_the_broker_is_killed(
    mosquitto: PrivateBroker, database_url: str, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    result = _crash(mosquitto, database_url, tmp_path, sessions, outbox=True)
    assert (result.published, result.stored) == (EVENTS, EVENTS)


def test_devices_that_trust_the_brokers_puback_lose_at_most_the_autosave_bound(
    mosquitto: PrivateBroker, database_url: str, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    result = _crash(mosquitto, database_url, tmp_path, sessions, outbox=False)
    # The crash did take acknowledged events (what the outbox above makes good) ...
    assert result.lost > 0
    # ... but no more than the changes the shipped configuration lets pile up between saves.
    assert result.lost <= AUTOSAVE_CHANGES
