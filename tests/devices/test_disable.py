"""Staff disable a device and revoke its tokens from the API, the console and the CLI (one use case)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.accounts.models import AuditEntry
from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service.tokens import issue_api_token
from jiayuan.accounts.service.users import create_user
from jiayuan.cli.main import app as cli
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import Device
from tests.devices.helpers import envelope
from tests.factories import seed_site

QR = "jjhy-gate1-qr"
HB = {"uptime_s": 5, "fw": "1.0"}


@dataclass(frozen=True)
class Tokens:
    device: str
    staff: str
    other_staff: str
    grid: str


@pytest.fixture
def tokens(sessions: sessionmaker[Session]) -> Tokens:
    system = Principal.system()
    with sessions() as session:
        site = seed_site(session)

        def user(name: str, role: Role, scope: tuple[ScopeKind, int]) -> str:
            created = create_user(
                session, actor=system, username=name, display_name=name, role=role, scopes=[scope]
            )
            session.flush()
            return issue_api_token(session, actor=system, name="t", user_id=created.id)

        result = Tokens(
            device=issue_api_token(session, actor=system, name="t", device_id=QR),
            staff=user("staff1", Role.STAFF, (ScopeKind.COMMUNITY, site.community_id)),
            other_staff=user("staff2", Role.STAFF, (ScopeKind.COMMUNITY, site.other_community_id)),
            grid=user("grid1", Role.GRID, (ScopeKind.GRID, 1)),
        )
        session.commit()
    return result


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def push(client: TestClient, token: str) -> int:
    body = envelope(QR, "heartbeat", HB, ts=utcnow())
    return client.post(f"/api/v1/devices/{QR}/events", content=body, headers=bearer(token)).status_code


def enabled(sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        device = session.get(Device, QR)
        assert device is not None
        return device.enabled


def test_staff_disable_a_device_its_tokens_are_revoked_and_it_is_audited(
    client: TestClient, sessions: sessionmaker[Session], tokens: Tokens
) -> None:
    assert push(client, tokens.device) == 202
    response = client.post(
        f"/api/v1/devices/{QR}/disable", json={"reason": "读头被盗"}, headers=bearer(tokens.staff)
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"device_id": QR, "enabled": False, "tokens_revoked": 1}
    assert not enabled(sessions)
    assert push(client, tokens.device) == 401
    with sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "device.disable")).one()
        assert (entry.actor_name, entry.target_id, entry.reason) == ("staff1", QR, "读头被盗")
        # the revocation too is the staff member's, with the reason, in the device's community
        revoked = session.scalars(select(AuditEntry).where(AuditEntry.action == "token.revoke")).one()
        assert (revoked.actor_name, revoked.target_id, revoked.reason) == ("staff1", QR, "读头被盗")
        assert revoked.community_id == entry.community_id is not None
    response = client.post(
        f"/api/v1/devices/{QR}/enable", json={"reason": "已找回"}, headers=bearer(tokens.staff)
    )
    assert response.status_code == 200
    assert enabled(sessions)


def test_a_disabled_device_keeping_its_token_has_its_http_events_refused(
    client: TestClient, sessions: sessionmaker[Session], tokens: Tokens
) -> None:
    body = {"reason": "维修", "revoke_tokens": False}
    assert (
        client.post(f"/api/v1/devices/{QR}/disable", json=body, headers=bearer(tokens.staff)).status_code
        == 200
    )
    response = client.post(
        f"/api/v1/devices/{QR}/events",
        content=envelope(QR, "heartbeat", HB, ts=utcnow()),
        headers=bearer(tokens.device),
    )
    assert response.status_code == 422
    assert response.json()["reason"] == "revoked_device"


def test_who_may_disable_and_errors_that_reveal_nothing(
    client: TestClient, sessions: sessionmaker[Session], tokens: Tokens
) -> None:
    reason = {"reason": "测试"}
    elsewhere = client.post(f"/api/v1/devices/{QR}/disable", json=reason, headers=bearer(tokens.other_staff))
    missing = client.post(
        "/api/v1/devices/no-such-device/disable", json=reason, headers=bearer(tokens.other_staff)
    )
    assert elsewhere.status_code == missing.status_code == 404
    assert elsewhere.json() == missing.json()
    assert (
        client.post(f"/api/v1/devices/{QR}/disable", json=reason, headers=bearer(tokens.grid)).status_code
        == 403
    )
    assert (
        client.post(f"/api/v1/devices/{QR}/disable", json=reason, headers=bearer(tokens.device)).status_code
        == 403
    )
    empty = client.post(f"/api/v1/devices/{QR}/disable", json={"reason": ""}, headers=bearer(tokens.staff))
    assert empty.status_code == 422
    assert "reason" in empty.text
    assert enabled(sessions)


def test_the_console_button_disables_with_a_reason(
    client: TestClient, sessions: sessionmaker[Session], tokens: Tokens
) -> None:
    page = client.get("/console/devices", headers=bearer(tokens.staff))
    assert f'action="/console/devices/{QR}/disable"' in page.text
    assert "hx-confirm" in page.text
    blank = client.post(
        f"/console/devices/{QR}/disable",
        data={"reason": " "},
        headers=bearer(tokens.staff),
        follow_redirects=False,
    )
    assert blank.status_code == 303 and "error=" in blank.headers["location"]
    assert enabled(sessions)
    done = client.post(
        f"/console/devices/{QR}/disable",
        data={"reason": "设备拆除"},
        headers=bearer(tokens.staff),
        follow_redirects=False,
    )
    assert done.status_code == 303 and "notice=" in done.headers["location"]
    assert not enabled(sessions)
    assert "已停用" in client.get(done.headers["location"], headers=bearer(tokens.staff)).text


def test_the_cli_disables_and_enables(
    cli_env: None, client: TestClient, sessions: sessionmaker[Session], tokens: Tokens
) -> None:
    result = CliRunner().invoke(cli, ["devices", "disable", QR])
    assert result.exit_code != 0  # --reason is required
    result = CliRunner().invoke(cli, ["devices", "disable", QR, "--reason", "读头更换"])
    assert result.exit_code == 0, result.output
    assert not enabled(sessions)
    assert push(client, tokens.device) == 401
    result = CliRunner().invoke(cli, ["devices", "enable", "no-such-device", "--reason", "x"])
    assert result.exit_code == 1 and "device_id" in result.output
    assert CliRunner().invoke(cli, ["devices", "enable", QR, "--reason", "新读头"]).exit_code == 0
    assert enabled(sessions)
    with sessions() as session:
        actors = session.scalars(
            select(AuditEntry.actor_name).where(AuditEntry.action.in_(["device.disable", "device.enable"]))
        ).all()
    assert actors == [f"os:{getpass.getuser()}"] * 2
