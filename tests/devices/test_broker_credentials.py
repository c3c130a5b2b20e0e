"""Which token is a device's MQTT password, and what is kept of it (sealed; deleted once revoked)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.service import tokens
from jiayuan.db.uow import unit_of_work
from jiayuan.devices.models import BrokerCredential
from jiayuan.devices.service import credentials
from jiayuan.kernel.principal import Principal
from tests.factories import seed_site

QR = "jjhy-gate1-qr"
SEALER = credentials.sealer_for("a-secret-key-for-sealing")
SYSTEM = Principal.system()


def login(sessions: sessionmaker[Session], device_id: str = QR) -> credentials.BrokerLogin:
    with unit_of_work(sessions) as session:
        return credentials.broker_logins(session, actor=SYSTEM, sealer=SEALER, device_ids=[device_id])[0]


def issue(sessions: sessionmaker[Session]) -> tuple[int, str]:
    with unit_of_work(sessions) as session:
        issued = credentials.issue_token(session, actor=SYSTEM, device_id=QR, name="t", sealer=SEALER)
        return issued.id, issued.token


def test_the_newest_live_token_is_the_password_and_revoked_copies_are_deleted(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        seed_site(session)
    first_id, first = issue(sessions)
    second_id, second = issue(sessions)
    assert login(sessions).password == second
    with sessions() as session:
        stored = session.scalars(select(BrokerCredential.sealed)).all()
        assert len(stored) == 2 and first not in stored and second not in stored
    with unit_of_work(sessions) as session:
        tokens.revoke_api_token(session, actor=SYSTEM, token_id=second_id)
    assert (login(sessions).password, login(sessions).token_id) == (first, first_id)
    with sessions() as session:
        assert session.scalars(select(BrokerCredential.token_id)).all() == [first_id]


def test_refused_logins_say_why(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        seed_site(session)
    assert login(sessions).why_refused == "没有有效令牌"
    with unit_of_work(sessions) as session:  # issued without a sealed copy (before broker logins existed)
        tokens.issue_api_token(session, actor=SYSTEM, device_id=QR, name="旧")
    assert "重新签发" in (login(sessions).why_refused or "")
    assert login(sessions, "jjhy-old-qr").why_refused == "设备已停用"
    assert login(sessions, "not-registered").why_refused == "设备未登记"
    other_key = credentials.sealer_for("another-secret-key")
    issue(sessions)
    with unit_of_work(sessions) as session:
        assert (
            credentials.broker_logins(session, actor=SYSTEM, sealer=other_key, device_ids=[QR])[0].password
            is None
        )
