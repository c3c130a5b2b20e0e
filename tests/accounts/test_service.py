"""Users, tokens and the audit log through the service, on a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import ApiToken, AuditEntry, LoginSession, User
from jiayuan.accounts.schemas import AuditFilter, LoginPolicy, ScopeKind
from jiayuan.accounts.service import audit, tokens, users
from jiayuan.accounts.service.sessions import start_session
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import local, utcnow
from jiayuan.kernel.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal, Role
from tests.factories import device_token, make_user, token_for


def in_community_1(_kind: str, _ref: str) -> int:
    """The registry's placement of every scope target, for accounts tests without a registry tree
    (tests/web/test_grants.py runs the real lookup)."""
    return 1


def principal(sessions: sessionmaker[Session], user_id: int) -> Principal:
    with sessions() as session:
        user = session.get(User, user_id)
        assert user is not None
        return users.principal_of(user)


def audit_actions(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# ---------------------------------------------------------------- users


def test_only_admins_add_users_and_each_addition_is_audited(sessions: sessionmaker[Session]) -> None:
    admin = principal(sessions, make_user(sessions, "admin1", Role.ADMIN, scopes=["community:1"]))
    staff = principal(sessions, make_user(sessions, "staff1", Role.STAFF, scopes=["community:1"]))
    with unit_of_work(sessions) as session:
        user = users.create_user(
            session,
            actor=admin,
            username="gw1",
            display_name="网格员一",
            role=Role.GRID,
            password="long-enough",
            scopes=[(ScopeKind.COMMUNITY, 1), (ScopeKind.GRID, 3)],
            community_of=in_community_1,
        )
        assert users.principal_of(user).grid_ids == frozenset({3})
    with unit_of_work(sessions) as session, pytest.raises(Forbidden):
        users.create_user(session, actor=staff, username="gw2", display_name="", role=Role.GRID)
    with sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.target_label == "gw1")).one()
        assert (entry.action, entry.actor_name, entry.community_id) == ("user.create", "admin1", 1)
        assert entry.detail == {"role": "grid", "scopes": [["community", 1], ["grid", 3]]}
        assert session.scalar(select(User.id).where(User.username == "gw2")) is None


@pytest.mark.parametrize(
    ("username", "password", "error", "field"),
    [
        ("", "long-enough", Invalid, "username"),
        ("has space", "long-enough", Invalid, "username"),
        ("a" * 65, "long-enough", Invalid, "username"),
        ("fine", "short", Invalid, "password"),
        ("admin1", "long-enough", Conflict, "username"),
    ],
)
def test_bad_new_users_are_refused_by_field(
    sessions: sessionmaker[Session], username: str, password: str, error: type[Exception], field: str
) -> None:
    make_user(sessions, "admin1", Role.ADMIN)
    with unit_of_work(sessions) as session, pytest.raises(error) as caught:
        users.create_user(
            session,
            actor=Principal.system(),
            username=username,
            display_name="",
            role=Role.STAFF,
            password=password,
        )
    assert getattr(caught.value, "field", None) == field
    with sessions() as session:
        assert session.scalar(select(text("count(*)")).select_from(User)) == 1


def test_community_admins_stay_inside_their_communities(sessions: sessionmaker[Session]) -> None:
    admin = principal(sessions, make_user(sessions, "admin1", Role.ADMIN, scopes=["community:1"]))
    make_user(sessions, "here", Role.STAFF, scopes=["community:1"])
    elsewhere = make_user(sessions, "there", Role.STAFF, scopes=["community:2"])
    with sessions() as session:
        page = users.list_users(session, actor=admin, params=PageParams())
        assert sorted(u.username for u in page.items) == ["admin1", "here"]
        assert page.total == 2
        with pytest.raises(NotFound):
            users.get_user(session, actor=admin, user_id=elsewhere)
        with pytest.raises(Invalid, match="community:2 不存在"):
            users.create_user(
                session,
                actor=admin,
                username="x2",
                display_name="",
                role=Role.STAFF,
                scopes=[(ScopeKind.COMMUNITY, 1), (ScopeKind.COMMUNITY, 2)],
                community_of=lambda kind, ref: int(ref),
            )
        with pytest.raises(Invalid, match="grid:3 不存在"):  # no lookup: only the system grants
            users.create_user(
                session,
                actor=admin,
                username="x4",
                display_name="",
                role=Role.GRID,
                scopes=[(ScopeKind.COMMUNITY, 1), (ScopeKind.GRID, 3)],
            )
        with pytest.raises(Invalid, match="所属社区"):
            users.create_user(session, actor=admin, username="x3", display_name="", role=Role.STAFF)
        whole = users.list_users(session, actor=Principal.system(), params=PageParams())
        assert whole.total == 3


def test_deactivation_ends_sessions_and_revokes_tokens(sessions: sessionmaker[Session]) -> None:
    admin = principal(sessions, make_user(sessions, "admin1", Role.ADMIN))
    user_id = make_user(sessions, "leaver", Role.STAFF)
    token = token_for(sessions, user_id)
    with unit_of_work(sessions) as session:
        user = session.get(User, user_id)
        assert user is not None
        start_session(session, principal=users.principal_of(user), policy=LoginPolicy())
    with unit_of_work(sessions) as session:
        users.deactivate_user(session, actor=admin, user_id=user_id, reason="调离本社区")
    with sessions() as session:
        assert session.scalars(select(LoginSession)).all() == []
        assert all(t.revoked_at is not None for t in session.scalars(select(ApiToken)))
        with pytest.raises(Unauthorized):
            tokens.principal_for_token(session, token)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.deactivate")).one()
        assert entry.reason == "调离本社区"
    with unit_of_work(sessions) as session, pytest.raises(Conflict):
        users.deactivate_user(session, actor=admin, user_id=admin.user_id or 0)


# ---------------------------------------------------------------- tokens


def test_tokens_are_stored_only_as_hashes(sessions: sessionmaker[Session]) -> None:
    user_id = make_user(sessions, "api", Role.STAFF, scopes=["community:1"])
    token = token_for(sessions, user_id)
    with sessions() as session:
        stored = session.scalars(select(ApiToken)).one()
        assert token not in stored.token_hash and len(stored.token_hash) == 64
        dump = " ".join(str(v) for row in session.execute(text("SELECT * FROM api_tokens")) for v in row)
        assert token not in dump
        who = tokens.principal_for_token(session, token)
    assert (who.role, who.username, who.community_ids) == (Role.STAFF, "api", frozenset({1}))


def test_device_tokens_act_as_their_device(sessions: sessionmaker[Session]) -> None:
    token = device_token(sessions, "jjhy-gate1-qr")
    with sessions() as session:
        who = tokens.principal_for_token(session, token)
    assert who.role is Role.DEVICE
    assert who.device_id == "jjhy-gate1-qr"
    assert who.user_id is None
    with unit_of_work(sessions) as session:
        revoked = tokens.revoke_device_tokens(
            session, actor=Principal.system(), device_id="jjhy-gate1-qr", community_id=None, reason="拆除"
        )
        assert revoked == 1
    with sessions() as session, pytest.raises(Unauthorized, match="吊销"):
        tokens.principal_for_token(session, token)


@pytest.mark.parametrize("token", ["", "jy_", "jy_unknown", "nonsense", "jyd_" + "a" * 300])
def test_unknown_tokens_are_unauthorized(sessions: sessionmaker[Session], token: str) -> None:
    with sessions() as session, pytest.raises(Unauthorized):
        tokens.principal_for_token(session, token)


def test_revoked_and_expired_tokens_stop_working(sessions: sessionmaker[Session]) -> None:
    user_id = make_user(sessions, "api", Role.STAFF)
    me = principal(sessions, user_id)
    with unit_of_work(sessions) as session:
        issued = tokens.create_api_token(session, actor=me, user_id=user_id, name="脚本")
        old = tokens.create_api_token(session, actor=me, user_id=user_id, name="旧")
        expired = old.token
    with unit_of_work(sessions) as session:
        tokens.revoke_api_token(session, actor=me, token_id=issued.id)
        stored = session.get(ApiToken, old.id)
        assert stored is not None
        stored.expires_at = utcnow() - timedelta(minutes=1)
    with sessions() as session:
        with pytest.raises(Unauthorized, match="吊销"):
            tokens.principal_for_token(session, issued.token)
        with pytest.raises(Unauthorized, match="过期"):
            tokens.principal_for_token(session, expired)
    assert audit_actions(sessions).count("token.revoke") == 1


def test_who_may_issue_and_revoke_tokens(sessions: sessionmaker[Session]) -> None:
    staff_id = make_user(sessions, "staff1", Role.STAFF, scopes=["community:1"])
    other_id = make_user(sessions, "staff2", Role.STAFF, scopes=["community:1"])
    admin = principal(sessions, make_user(sessions, "admin1", Role.ADMIN, scopes=["community:1"]))
    staff = principal(sessions, staff_id)
    device = Principal(role=Role.DEVICE, device_id="d1", username="device:d1")
    with unit_of_work(sessions) as session:
        mine = tokens.create_api_token(session, actor=staff, user_id=staff_id, name="我的")
        theirs = tokens.create_api_token(session, actor=admin, user_id=other_id, name="代发")
        tokens.create_api_token(
            session, actor=admin, device_id="jjhy-gate1-qr", name="二维码", device_community=1
        )
    with unit_of_work(sessions) as session:
        with pytest.raises(Forbidden):
            tokens.create_api_token(session, actor=staff, device_id="jjhy-gate1-qr", name="x")
        with pytest.raises(Forbidden):
            tokens.create_api_token(session, actor=staff, user_id=other_id, name="x")
        with pytest.raises(Forbidden):
            tokens.create_api_token(session, actor=device, device_id="d1", name="x")
        with pytest.raises(NotFound):
            tokens.create_api_token(session, actor=admin, user_id=9999, name="x")
        with pytest.raises(NotFound):  # a device the devices domain did not place, or placed elsewhere
            tokens.create_api_token(session, actor=admin, device_id="d1", name="x")
        with pytest.raises(NotFound):
            tokens.create_api_token(session, actor=admin, device_id="d1", name="x", device_community=2)
        with pytest.raises(Invalid):
            tokens.create_api_token(session, actor=admin, user_id=other_id, device_id="d1", name="x")
        with pytest.raises(Invalid):
            tokens.create_api_token(session, actor=admin, user_id=other_id, name="   ")
        with pytest.raises(NotFound):
            tokens.revoke_api_token(session, actor=staff, token_id=theirs.id)
        with pytest.raises(NotFound):
            tokens.revoke_api_token(session, actor=staff, token_id=123456)
        assert [t.id for t in tokens.list_api_tokens(session, actor=staff)] == [mine.id]
        # the device token shows only with the devices domain's word that the device is in community 1
        assert len(tokens.list_api_tokens(session, actor=admin)) == 2
        for community, seen in ((1, 3), (2, 2)):
            placed = tokens.list_api_tokens(
                session, actor=admin, device_communities=lambda ids, c=community: dict.fromkeys(ids, c)
            )
            assert len(placed) == seen
    assert audit_actions(sessions).count("token.issue") == 3


# ---------------------------------------------------------------- audit log


def test_audit_search_filters_and_stays_in_the_admins_communities(sessions: sessionmaker[Session]) -> None:
    admin1 = principal(sessions, make_user(sessions, "admin1", Role.ADMIN, scopes=["community:1"]))
    admin2 = principal(sessions, make_user(sessions, "admin2", Role.ADMIN, scopes=["community:2"]))
    with unit_of_work(sessions) as session:
        audit.record_audit(
            session,
            actor=admin1,
            action="resident.reveal",
            target_type="resident",
            target_id=42,
            target_label="刘莹",
            reason="核实低保资格",
        )
        audit.record_audit(
            session, actor=admin2, action="resident.update", target_type="resident", target_id=43
        )
    with sessions() as session:

        def search(who: Principal = admin1, **criteria: object) -> list[str]:
            page = audit.search_audit(
                session, actor=who, criteria=AuditFilter.model_validate(criteria), params=PageParams()
            )
            return [f"{e.action}:{e.target_id}" for e in page.items]

        assert search(action="resident") == ["resident.reveal:42"]
        assert search(admin2, action="resident") == ["resident.update:43"]
        assert search(Principal.system(), action="resident") == ["resident.update:43", "resident.reveal:42"]
        assert search(target="刘") == ["resident.reveal:42"]
        assert search(target="42") == ["resident.reveal:42"]
        assert search(actor="admin1", action="resident.reveal") == ["resident.reveal:42"]
        assert search(actor="nobody") == []
        today = local(utcnow()).date().isoformat()
        assert search(action="resident", since="2000-01-01", until=today) == ["resident.reveal:42"]
        assert search(action="resident", until="2000-01-01") == []
        assert search(action="100%_") == []
        with pytest.raises(Forbidden):
            audit.search_audit(
                session,
                actor=Principal(role=Role.STAFF, community_ids=frozenset({1})),
                criteria=AuditFilter(),
                params=PageParams(),
            )
