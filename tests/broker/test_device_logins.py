"""Devices on the production broker (Mosquitto from the shipped configuration, dynamic security).

Anonymous clients are refused, a device signs in with its id and newest live token and is confined to
its own topics, the platform reads everything, and revoking or disabling refuses a device at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.access.models import Alarm
from jiayuan.accounts.models import ApiToken
from jiayuan.accounts.service import tokens
from jiayuan.broker.admin import BrokerAdmin
from jiayuan.broker.sync import BrokerSync, sync_devices
from jiayuan.cli.main import app as cli
from jiayuan.db.uow import unit_of_work
from jiayuan.devices.models import DeadLetter, DeviceEvent
from jiayuan.devices.service import credentials, lifecycle
from jiayuan.ingest.embedded_broker import EmbeddedBroker
from jiayuan.ingest.runner import IngestLoop
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import Community
from jiayuan.settings import get_settings
from jiayuan.vision.publish import Publisher
from jiayuan.web.app import create_app
from tests.broker.helpers import Probe, eventually
from tests.broker.processes import PrivateBroker
from tests.conftest import make_test_settings
from tests.devices.helpers import envelope
from tests.factories import make_user, seed_site, token_for
from tests.ingest.running import ingesting

pytestmark = [pytest.mark.mqtt, pytest.mark.timeout(120)]

PREFIX = "jiayuan"
QR, SOS = "jjhy-gate1-qr", "jjhy-gate1-sos"
SEALER = credentials.sealer_for("test-secret-key-for-broker")


def topic(device: str, kind: str) -> str:
    return f"{PREFIX}/v1/devices/{device}/{kind}"


@dataclass
class Site:
    """Two devices with tokens, pushed to the broker."""

    broker: PrivateBroker
    admin: BrokerAdmin
    tokens: dict[str, str]


def issue(sessions: sessionmaker[Session], device_id: str) -> str:
    with unit_of_work(sessions) as session:
        return credentials.issue_token(
            session, actor=Principal.system(), device_id=device_id, name="测试", sealer=SEALER
        ).token


def push(sessions: sessionmaker[Session], admin: BrokerAdmin, *device_ids: str) -> None:
    results = sync_devices(sessions, admin, sealer=SEALER, prefix=PREFIX, device_ids=device_ids or None)
    assert [r.error for r in results if r.error] == []


@pytest.fixture
def site(sessions: sessionmaker[Session], mosquitto: PrivateBroker) -> Iterator[Site]:
    with sessions() as session:
        seed_site(session)
    tokens = {device: issue(sessions, device) for device in (QR, SOS)}
    admin = BrokerAdmin(mosquitto.url).start()
    push(sessions, admin)
    yield Site(mosquitto, admin, tokens)
    admin.close()


def device(site: Site, device_id: str, token: str | None = None) -> Probe:
    return Probe(site.broker.port, device_id, token or site.tokens[device_id], client_id=device_id)


def test_anonymous_and_wrong_password_clients_are_refused(mosquitto: PrivateBroker) -> None:
    anonymous = Probe(mosquitto.port, None)
    assert not anonymous.accepted
    assert "authori" in str(anonymous.reason).lower()
    # Refused at CONNECT: an anonymous client never gets as far as subscribing to `#`.
    assert anonymous.disconnected.wait(5)
    wrong = Probe(mosquitto.port, "jiayuan-platform", "guess")
    assert not wrong.accepted
    platform = Probe.platform(mosquitto.url)
    assert platform.accepted and platform.subscribe("#")
    for probe in (anonymous, wrong, platform):
        probe.close()


def test_a_device_signs_in_with_its_id_and_token_and_is_confined_to_its_own_topics(site: Site) -> None:
    platform = Probe.platform(site.broker.url)
    assert platform.subscribe(f"{PREFIX}/#")
    qr = device(site, QR)
    assert qr.accepted
    # Username = client id = device id: the token does not work under another client id or username.
    assert not Probe(site.broker.port, QR, site.tokens[QR], client_id="someone-else").accepted
    assert not Probe(site.broker.port, SOS, site.tokens[QR], client_id=SOS).accepted

    for foreign in (
        "#",
        "+/#",
        f"{PREFIX}/#",
        topic(SOS, "commands"),
        topic(SOS, "events"),
        topic(SOS, "snapshots/+"),
        topic(SOS, "live"),
        f"{PREFIX}/v1/devices/+/commands",
        f"{PREFIX}/v1/devices/+/events",
        f"{PREFIX}/v1/devices/{QR}/#",  # its own root, wildcarded: it would read its own commands only
        f"{PREFIX}/v1/platform/committed",
        "$SYS/#",
        "$CONTROL/#",
        "$CONTROL/dynamic-security/v1/response",
    ):
        assert not qr.subscribe(foreign), foreign
    assert qr.subscribe(topic(QR, "commands"))

    platform.publish(topic(SOS, "commands"), b"for the sos button")
    platform.publish(topic(QR, "commands"), b"for the reader")
    assert eventually(lambda: len(qr.received) == 1)
    assert qr.received == [(topic(QR, "commands"), b"for the reader")]

    for forged in (
        topic(SOS, "events"),
        topic(SOS, "status"),
        topic(SOS, "snapshots/s1"),
        topic(SOS, "live"),
        topic(QR, "commands"),
        topic(QR, "elsewhere"),
        f"{PREFIX}/v1/platform/committed",
        f"{PREFIX}/v2/devices/{QR}/events",
    ):
        qr.publish(forged, b"forged")
    # Nor may it talk to the broker's security plugin: a grant to itself is not applied.
    grant = b'{"commands":[{"command":"addRoleACL","rolename":"jiayuan-device-' + QR.encode() + b'",'
    grant += b'"acltype":"subscribePattern","topic":"#","allow":true}]}'
    qr.publish("$CONTROL/dynamic-security/v1", grant)
    qr.publish(topic(QR, "events"), b"own")
    assert eventually(lambda: (topic(QR, "events"), b"own") in platform.received)
    seen = [t for t, body in platform.received if body == b"forged"]
    assert seen == []
    assert not qr.subscribe("#"), "the device granted itself a subscription through $CONTROL"
    for probe in (platform, qr):
        probe.close()


def test_a_device_cannot_forge_another_devices_sos_and_its_own_events_are_ingested(
    site: Site, sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    settings = make_test_settings(database_url, tmp_path).model_copy(
        update={"mqtt_url": site.broker.url, "mqtt_client_id": "ingest-private", "mqtt_topic_prefix": PREFIX}
    )
    loop = IngestLoop(settings, sessions=sessions)
    with ingesting(loop):
        qr, sos = device(site, QR), device(site, SOS)
        assert qr.accepted and sos.accepted, (qr.reason, sos.reason)
        sos_payload = {"button": "1号门", "pressed": "long"}
        # The reader publishes an SOS as the button, on the button's topic: the broker drops it.
        qr.publish(topic(SOS, "events"), envelope(SOS, "sos", sos_payload, ts=utcnow()))
        # On its own topic the envelope must name the reader: a dead letter, no alarm.
        qr.publish(topic(QR, "events"), envelope(SOS, "sos", sos_payload, ts=utcnow()))
        # Waits are generous: on a loaded machine the ingest batch may take several seconds to commit.
        assert eventually(lambda: _count(sessions, DeadLetter) == 1, timeout=30)
        # The button itself: stored and an alarm opened.
        sos.publish(topic(SOS, "events"), envelope(SOS, "sos", sos_payload, ts=utcnow(), id="sos-real-0001"))
        assert eventually(lambda: _count(sessions, Alarm) == 1, timeout=30)
        with sessions() as session:
            assert session.scalars(select(DeviceEvent.event_id)).all() == ["sos-real-0001"]
            assert session.scalars(select(DeadLetter.reason)).all() == ["topic_mismatch"]
        qr.close()
        sos.close()


def test_ingest_is_ready_only_once_the_broker_grants_its_subscriptions(
    site: Site, sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    # A device's login is accepted, but not its subscription to every device's events.
    url = f"mqtt://{QR}:{quote(site.tokens[QR], safe='')}@127.0.0.1:{site.broker.port}"
    settings = make_test_settings(database_url, tmp_path).model_copy(
        update={"mqtt_url": url, "mqtt_client_id": QR, "mqtt_topic_prefix": PREFIX}
    )
    loop = IngestLoop(settings, sessions=sessions)
    runner = threading.Thread(target=loop.run, daemon=True)
    runner.start()
    try:
        assert not loop.connected.wait(5), "ready although the broker refused the subscriptions"
    finally:
        loop.stop()
        runner.join(15)


def _count(sessions: sessionmaker[Session], model: type[Alarm] | type[DeadLetter]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def follower(site: Site, sessions: sessionmaker[Session]) -> Iterator[BrokerSync]:
    """What the web process runs: pushes device access changes to the broker after each commit."""
    sync = BrokerSync(site.broker.url, sessions=sessions, sealer=SEALER, prefix=PREFIX).start()
    yield sync
    sync.close()


def test_revoking_the_token_disconnects_and_refuses_the_device_at_once(
    site: Site, sessions: sessionmaker[Session], follower: BrokerSync
) -> None:
    qr = device(site, QR)
    assert qr.accepted
    with unit_of_work(sessions) as session:
        revoked = tokens.revoke_device_tokens(
            session, actor=Principal.system(), device_id=QR, community_id=None, reason="读头被盗"
        )
        assert revoked == 1
    assert qr.disconnected.wait(10)
    assert not device(site, QR).accepted
    # A new token is the password again, pushed as soon as it is issued.
    token = issue(sessions, QR)
    follower.wait_idle()
    assert device(site, QR, token).accepted


def test_the_newest_live_token_is_the_mqtt_password(
    site: Site, sessions: sessionmaker[Session], follower: BrokerSync
) -> None:
    old = site.tokens[QR]
    new = issue(sessions, QR)
    follower.wait_idle()
    assert device(site, QR, new).accepted
    assert not device(site, QR, old).accepted
    # Revoking the newest makes the older live token the password again.
    with unit_of_work(sessions) as session:
        newest = tokens.device_token_ids(session, QR)[0][0]
        tokens.revoke_api_token(session, actor=Principal.system(), token_id=newest)
    follower.wait_idle()
    assert device(site, QR, old).accepted


def test_disabling_the_device_disconnects_and_refuses_it_until_enabled(
    site: Site, sessions: sessionmaker[Session], follower: BrokerSync
) -> None:
    sos = device(site, SOS)
    with unit_of_work(sessions) as session:
        lifecycle.disable_device(
            session, actor=Principal.system(), device_id=SOS, reason="设备被拆", revoke_tokens=False
        )
    assert sos.disconnected.wait(10)
    assert not device(site, SOS).accepted
    with unit_of_work(sessions) as session:
        lifecycle.enable_device(session, actor=Principal.system(), device_id=SOS, reason="已修复")
    follower.wait_idle()
    assert device(site, SOS).accepted


def test_broker_sync_restores_device_logins_without_disconnecting_signed_in_devices(
    site: Site, sessions: sessionmaker[Session]
) -> None:
    qr = device(site, QR)
    push(sessions, site.admin)
    assert not qr.disconnected.wait(1)
    qr.close()


def test_the_cli_bootstrap_and_sync_let_enabled_devices_in(
    mosquitto: PrivateBroker,
    sessions: sessionmaker[Session],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with sessions() as session:
        seed_site(session)
    token = issue(sessions, QR)
    old_token = issue(sessions, "jjhy-old-qr")  # a disabled device
    assert not Probe(mosquitto.port, QR, token, client_id=QR).accepted  # not pushed yet
    monkeypatch.setenv("JIAYUAN_DATABASE_URL", database_url)
    monkeypatch.setenv("JIAYUAN_MQTT_URL", mosquitto.url)
    monkeypatch.setenv("JIAYUAN_SECRET_KEY", "test-secret-key-for-broker")
    monkeypatch.setenv("JIAYUAN_MQTT_TOPIC_PREFIX", PREFIX)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["broker", "sync"])
        issued = CliRunner().invoke(cli, ["user", "device-token", SOS])  # pushed by the command itself
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "jjhy-old-qr: 拒绝登录" in result.output
    assert Probe(mosquitto.port, QR, token, client_id=QR).accepted
    assert not Probe(mosquitto.port, "jjhy-old-qr", old_token, client_id="jjhy-old-qr").accepted
    assert issued.exit_code == 0, issued.output
    assert Probe(mosquitto.port, SOS, issued.stdout.strip(), client_id=SOS).accepted


def test_the_web_app_keeps_the_broker_in_step_with_its_api(
    site: Site, sessions: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    settings = make_test_settings(database_url, tmp_path).model_copy(
        update={
            "mqtt_url": site.broker.url,
            "mqtt_topic_prefix": PREFIX,
            "secret_key": SecretStr("test-secret-key-for-broker"),
        }
    )
    with sessions() as session:
        community = session.scalars(select(Community.id).where(Community.name == "紫荆路社区")).one()
    admin_id = make_user(sessions, "admin1", Role.ADMIN, scopes=[f"community:{community}"])
    headers = {"Authorization": f"Bearer {token_for(sessions, admin_id)}"}
    with TestClient(create_app(settings)) as client:
        issued = client.post("/api/v1/tokens", json={"name": "新读头", "device_id": QR}, headers=headers)
        assert issued.status_code == 201, issued.text
        probes: list[Probe] = []

        def signs_in() -> bool:
            # The request's commit (and so the change event) may land just after the answer.
            client.app.state.broker_sync.wait_idle()  # type: ignore[attr-defined]
            probes.append(device(site, QR, issued.json()["token"]))
            return probes[-1].accepted

        assert eventually(signs_in)
        reader = probes[-1]
        response = client.post(f"/api/v1/devices/{QR}/disable", json={"reason": "被盗"}, headers=headers)
        assert response.status_code == 200, response.text
        assert reader.disconnected.wait(10)
        assert not device(site, QR, issued.json()["token"]).accepted


def test_a_camera_worker_signs_in_as_its_device(site: Site, sessions: sessionmaker[Session]) -> None:
    camera = "jjhy-gate1-cam"
    token = issue(sessions, camera)
    push(sessions, site.admin, camera)
    platform = Probe.platform(site.broker.url)
    assert platform.subscribe(f"{PREFIX}/#")
    publisher = Publisher(f"mqtt://127.0.0.1:{site.broker.port}", camera, prefix=PREFIX, token=token)
    assert publisher.start()
    try:
        publisher.event("occupancy", {"zone": "门口", "class": "person", "count": 2})
        publisher.live(b"\xff\xd8 frame")
        topics = {f"{PREFIX}/v1/devices/{camera}/{kind}" for kind in ("status", "events", "live")}
        assert eventually(lambda: topics <= {t for t, _ in platform.received})
    finally:
        publisher.stop()
        platform.close()


def test_a_starting_web_process_refuses_devices_whose_token_expired_meanwhile(
    site: Site, sessions: sessionmaker[Session]
) -> None:
    assert device(site, QR).accepted
    with unit_of_work(sessions) as session:
        for token in session.scalars(select(ApiToken).where(ApiToken.device_id == QR)):
            token.expires_at = utcnow() - timedelta(minutes=1)
    assert device(site, QR).accepted  # nothing pushed it yet
    sync = BrokerSync(site.broker.url, sessions=sessions, sealer=SEALER, prefix=PREFIX).start()
    try:
        sync.wait_idle()
        assert not device(site, QR).accepted
        assert device(site, SOS).accepted
    finally:
        sync.close()


def test_a_broker_without_the_plugin_is_reported_once_not_waited_for_per_device(
    sessions: sessionmaker[Session], database_url: str
) -> None:
    with sessions() as session:
        seed_site(session)
    issue(sessions, QR)
    broker = EmbeddedBroker(database_url=database_url, prefix=PREFIX).start()  # amqtt: no dynamic security
    admin = BrokerAdmin(broker.url, timeout=0.5).start()
    try:
        started = time.monotonic()
        results = sync_devices(sessions, admin, sealer=SEALER, prefix=PREFIX)
        assert time.monotonic() - started < 3
        assert len(results) > 5 and all(r.error and "动态安全插件" in r.error for r in results)
    finally:
        admin.close()
        broker.stop()
