"""扫码验码: every decision the platform can make on a pass, and who may issue what."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.access.models import Alarm, FlowBucket, PassCheck
from jiayuan.access.pass_tokens import Signer, b64url, unb64url, verify
from jiayuan.access.schemas import IsolationIn, RevokeIn, VisitorInvite
from jiayuan.access.service import gate_checks, passes, visitors
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.errors import Forbidden, Invalid, NotFound
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.models import Compound
from tests.factories import add_compound, add_person, seed_site

NOW = datetime.fromisoformat("2026-11-27T08:00:00+08:00")
SIGNER = Signer("test-pass-secret-0123456789", "k1")
KEYS = SIGNER.public_keys()
SYSTEM = Principal.system()
VAULT = PiiVault.from_secret("test-pii")


def check(
    session: Session, token: str, *, gate: str = "jjhy-gate1", direction: str = "in", at: datetime = NOW
) -> str:
    result = gate_checks.verify_at_gate(
        session, actor=SYSTEM, token=token, gate_ref=gate, direction=direction, public_keys=KEYS, now=at
    )
    return result.reason


@pytest.fixture
def place(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    """(household, person, community) in 锦江花园, plus a second compound with its own gate."""
    with sessions() as session:
        site = seed_site(session)
        household, person = add_person(session, site.compound_id)
        add_compound(session, site.community_id, "森海一期", "shyq", gate="森海一期东门")
        return household, person, site.community_id


def test_token_format_is_canonical_and_verifies_offline(
    sessions: sessionmaker[Session], place: tuple
) -> None:
    with sessions() as session:
        issued = passes.issue_resident_pass(session, actor=SYSTEM, signer=SIGNER, person_id=place[1], now=NOW)
    prefix, payload, signature = issued.token.split(".")
    assert prefix == "JY1" and "=" not in issued.token
    body = unb64url(payload)
    assert body.startswith(b'{"c":[') and b" " not in body
    claims = verify(issued.token, KEYS)
    assert (claims.t, claims.p, claims.h, claims.k) == ("r", place[1], place[0], "k1")
    assert 30 <= claims.exp - claims.iat <= 60
    assert len(unb64url(signature)) == 64


def test_decisions(sessions: sessionmaker[Session], place: tuple) -> None:
    household, person, _ = place
    with sessions() as session:
        token = passes.issue_resident_pass(
            session, actor=SYSTEM, signer=SIGNER, person_id=person, now=NOW
        ).token
        assert check(session, token) == "ok"
        assert check(session, token) == "replayed"
        assert check(session, token, direction="out") == "ok"  # the same code may leave once
        assert check(session, token, at=NOW + timedelta(seconds=61)) == "expired"
        assert check(session, token, gate="shyq-gate1") == "wrong_compound"
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        assert check(session, forged) == "bad_signature"
        other_key = Signer("another-secret-xxxxxxxxxxxx", "k1")
        stranger = other_key.sign(
            kind="r", person=person, household=household, compounds=[1], iat=0, exp=2**40
        )[0]
        assert check(session, stranger) == "bad_signature"
        assert check(session, "not-a-pass") == "bad_signature"
        assert check(session, "JY1.!!.??") == "bad_signature"
        assert check(session, "JY1." + b64url(b"[1]") + "." + b64url(b"x" * 64)) == "bad_signature"

        fresh = passes.issue_resident_pass(
            session, actor=SYSTEM, signer=SIGNER, person_id=person, now=NOW
        ).token
        passes.revoke(session, actor=SYSTEM, data=RevokeIn(ref=f"p:{person}", reason="门禁权限暂停"))
        assert check(session, fresh) == "revoked"
        session.commit()
        version, refs = passes.revocation_list(session, actor=SYSTEM)
        assert version >= 1 and refs == [f"p:{person}"]


def test_isolation_refuses_and_raises_an_alarm(sessions: sessionmaker[Session], place: tuple) -> None:
    _, person, _ = place
    with sessions() as session:
        passes.record_isolation(
            session,
            actor=SYSTEM,
            data=IsolationIn(
                person_id=person, starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=6),
                purpose="居家健康观察", consent_recorded=True,
            ),
        )  # fmt: skip
        token = passes.issue_resident_pass(
            session, actor=SYSTEM, signer=SIGNER, person_id=person, now=NOW
        ).token
        assert check(session, token, direction="out") == "isolation"
        session.commit()
        alarm = session.scalars(select(Alarm)).one()
        assert alarm.type == "isolation_scan" and alarm.evidence["person_id"] == person
        later = passes.issue_resident_pass(
            session, actor=SYSTEM, signer=SIGNER, person_id=person, now=NOW + timedelta(days=7)
        ).token
        assert check(session, later, at=NOW + timedelta(days=7)) == "ok"  # the isolation ended
    with pytest.raises(ValueError, match="consent"):
        IsolationIn(person_id=person, starts_at=NOW, ends_at=NOW + timedelta(days=1), purpose="观察",
                    consent_recorded=False)  # fmt: skip
    # never open-ended: a long isolation is renewed, so someone keeps deciding it still applies
    with pytest.raises(ValueError, match="ends_at"):
        IsolationIn(person_id=person, starts_at=NOW, ends_at=NOW + timedelta(days=31), purpose="观察",
                    consent_recorded=True)  # fmt: skip
    assert IsolationIn(person_id=person, starts_at=NOW, ends_at=NOW + timedelta(days=30), purpose="观察",
                       consent_recorded=True).ends_at  # fmt: skip


def test_visitor_window_entries_and_compound(sessions: sessionmaker[Session], place: tuple) -> None:
    household, _, _ = place
    with sessions() as session:
        visitor = visitors.invite_visitor(
            session,
            actor=SYSTEM,
            vault=VAULT,
            invite=VisitorInvite(
                household_id=household, name="李四", phone="13800138000", plate="豫Ａ·12345",
                valid_from=NOW, valid_until=NOW + timedelta(hours=4), entries=2,
            ),
        )  # fmt: skip
        assert visitor.plate == "豫A12345"
        assert visitor.phone_masked == "138****8000"
        token = visitors.visitor_token(
            session, actor=SYSTEM, signer=SIGNER, visitor_id=visitor.id, now=NOW
        ).token
        assert check(session, token, at=NOW - timedelta(minutes=1)) == "visitor_window"
        assert check(session, token, at=NOW + timedelta(minutes=5)) == "ok"
        assert check(session, token, direction="out", at=NOW + timedelta(minutes=50)) == "ok"
        assert check(session, token, at=NOW + timedelta(hours=1)) == "ok"
        assert check(session, token, at=NOW + timedelta(hours=2)) == "visitor_used_up"
        assert check(session, token, gate="shyq-gate1", at=NOW + timedelta(hours=2)) == "wrong_compound"
        assert check(session, token, at=NOW + timedelta(hours=5)) == "expired"
        passes.revoke(session, actor=SYSTEM, data=RevokeIn(ref=f"v:{visitor.id}", reason="住户取消"))
        assert check(session, token, direction="out", at=NOW + timedelta(hours=3)) == "revoked"
        session.commit()
        reasons = [c.reason for c in session.scalars(select(PassCheck).order_by(PassCheck.id))]
        assert reasons.count("ok") == 3
        bucket = session.scalars(select(FlowBucket).order_by(FlowBucket.bucket)).all()
        assert sum(b.people_in for b in bucket) == 2 and sum(b.people_out for b in bucket) == 1
        assert sum(b.refused for b in bucket) == len(reasons) - 3


def test_bad_visitor_invites_name_the_field(sessions: sessionmaker[Session], place: tuple) -> None:
    household, _, _ = place

    def invite(**changes: object) -> VisitorInvite:
        data: dict[str, object] = {
            "household_id": household, "name": "李四", "phone": "13800138000",
            "valid_from": NOW, "valid_until": NOW + timedelta(hours=1),
        } | changes  # fmt: skip
        return VisitorInvite.model_validate(data)

    with pytest.raises(ValueError, match="valid_until"):
        invite(valid_until=NOW - timedelta(hours=1))
    with pytest.raises(ValueError, match="7"):
        invite(valid_until=NOW + timedelta(days=8))
    with pytest.raises(ValueError):
        invite(entries=0)
    with sessions() as session:
        with pytest.raises(Invalid) as bad_phone:
            visitors.invite_visitor(session, actor=SYSTEM, vault=VAULT, invite=invite(phone="12345"))
        assert bad_phone.value.field == "phone"
        with pytest.raises(Invalid) as bad_plate:
            visitors.invite_visitor(session, actor=SYSTEM, vault=VAULT, invite=invite(plate="豫A1O345"))
        assert bad_plate.value.field == "plate" and "0" in bad_plate.value.message
        with pytest.raises(NotFound):
            visitors.invite_visitor(session, actor=SYSTEM, vault=VAULT, invite=invite(household_id=999999))


def test_who_may_issue_invite_and_verify(sessions: sessionmaker[Session], place: tuple) -> None:
    household, person, community = place
    with sessions() as session:
        other_household, other_person = add_person(
            session, session.scalars(select(Compound.id)).first() or 0, room="202"
        )
        me = Principal(role=Role.RESIDENT, household_id=household, person_id=person)
        assert passes.issue_resident_pass(session, actor=me, signer=SIGNER, person_id=person, now=NOW).token
        with pytest.raises(NotFound):
            passes.issue_resident_pass(session, actor=me, signer=SIGNER, person_id=other_person, now=NOW)
        with pytest.raises(NotFound):  # another household is as unknown as a missing one
            visitors.invite_visitor(
                session, actor=me, vault=VAULT,
                invite=VisitorInvite(household_id=other_household, name="王五", phone="13800138000",
                                     valid_from=NOW, valid_until=NOW + timedelta(hours=1)),
            )  # fmt: skip
        with pytest.raises(Forbidden):
            passes.revoke(session, actor=me, data=RevokeIn(ref=f"p:{other_person}", reason="恶意"))
        outsider = Principal(role=Role.STAFF, community_ids=frozenset({community + 1000}))
        with pytest.raises(NotFound):
            gate_checks.verify_at_gate(session, actor=outsider, token="x", gate_ref="jjhy-gate1",
                                       direction="in", public_keys=KEYS, now=NOW)  # fmt: skip
        wrong_reader = Principal(role=Role.DEVICE, device_id="jjhy-gate2-qr")
        with pytest.raises(NotFound):
            gate_checks.verify_at_gate(session, actor=wrong_reader, token="x", gate_ref="jjhy-gate1",
                                       direction="in", public_keys=KEYS, now=NOW)  # fmt: skip
        with pytest.raises(NotFound):
            gate_checks.verify_at_gate(
                session, actor=SYSTEM, token="x", gate_ref="nope", direction="in", public_keys=KEYS
            )


def test_a_revoked_nonce_applies_only_in_the_community_of_whoever_revoked_it(
    sessions: sessionmaker[Session], place: tuple
) -> None:
    """Staff elsewhere cannot switch off this community's passes by their nonces."""
    _, person, community = place
    stranger = Principal(role=Role.STAFF, user_id=90, community_ids=frozenset({community + 1}))
    ours = Principal(role=Role.STAFF, user_id=91, community_ids=frozenset({community}))
    both = Principal(role=Role.STAFF, user_id=92, community_ids=frozenset({community, community + 1}))
    reader = Principal(role=Role.DEVICE, device_id="jjhy-gate1-qr", username="device:jjhy-gate1-qr")
    with sessions() as session:
        issued = passes.issue_resident_pass(session, actor=SYSTEM, signer=SIGNER, person_id=person, now=NOW)
        nonce = verify(issued.token, KEYS).n
        passes.revoke(session, actor=stranger, data=RevokeIn(ref=nonce, reason="截图外传"))
        assert nonce not in passes.revocation_list(session, actor=reader)[1]
        assert check(session, issued.token) == "ok"
        with pytest.raises(Invalid) as several:
            passes.revoke(session, actor=both, data=RevokeIn(ref="0" * 16, reason="截图外传"))
        assert several.value.field == "ref"
        other = passes.issue_resident_pass(session, actor=SYSTEM, signer=SIGNER, person_id=person, now=NOW)
        other_nonce = verify(other.token, KEYS).n
        passes.revoke(session, actor=ours, data=RevokeIn(ref=other_nonce, reason="截图外传"))
        assert other_nonce in passes.revocation_list(session, actor=reader)[1]
        assert check(session, other.token) == "revoked"
