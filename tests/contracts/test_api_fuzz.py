"""A bounded schemathesis run over the OpenAPI schema: no input may produce a response ≥ 500.

It runs signed in as a community's secretary (bearer token), so that requests reach the handlers
instead of stopping at the 401 of the authentication layer.
"""

from __future__ import annotations

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service.tokens import issue_api_token
from jiayuan.accounts.service.users import create_user
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.principal import Principal, Role
from tests.factories import one_household

MAX_EXAMPLES = 12


def _secretary_token(sessions: sessionmaker[Session]) -> str:
    with unit_of_work(sessions) as session:
        community = one_household(session).unit.building.compound.community
        user = create_user(
            session,
            actor=Principal.system(),
            username="shuji",
            display_name="书记",
            role=Role.ADMIN,
            scopes=[(ScopeKind.COMMUNITY, community.id)],
        )
        return issue_api_token(session, actor=Principal.system(), name="fuzz", user_id=user.id)


def test_no_server_errors(app: FastAPI, sessions: sessionmaker[Session]) -> None:
    headers = {"Authorization": f"Bearer {_secretary_token(sessions)}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=headers)  # staff only
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        try:
            exercise()
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    assert operations > 0
    assert not failures, "\n\n".join(failures)
