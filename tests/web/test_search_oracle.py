"""Search is no oracle for what the masks hide.

Each role takes what it is shown of a resident (the masked ID number and phone, the birth date and
gender), builds the candidates for the hidden digits, and asks the search about each one. A role that
may not reveal must get the same answer for the right candidate as for every wrong one; a role that may
reveal must give a reason, is audited for every such search, and is stopped by the hourly limit.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import AuditEntry
from jiayuan.kernel.crypto import PiiVault
from jiayuan.registry.validation import id_check_digit
from jiayuan.settings import Settings
from jiayuan.web.app import create_app
from tests.accounts.helpers import login
from tests.factories import make_id
from tests.web.test_scope_matrix import BORN, World, build_world

TRUE_ID = make_id(BORN, 2)  # 刘莹 of 锦江花园 1号楼 101, inside every role's scope but police and volunteers
TRUE_PHONE = "13812345678"
LIMIT = 6
REASON = "核对低保申请材料"
MAY_NOT_REVEAL = ("grid", "property", "resident", "police", "volunteer")


def id_candidates(masked: str, born: date | int) -> list[str]:
    """Every ID number agreeing with the mask, what is shown of the birth (a date, or only its year)
    and the check digit."""
    head, tail = masked[:4], masked[-4:]
    assert masked[4:-4] == "*" * 10, masked
    if isinstance(born, date):
        days = [born]
    else:
        first = date(born, 1, 1)
        days = [first + timedelta(days=n) for n in range((date(born + 1, 1, 1) - first).days)]
    found = []
    for county, day in itertools.product((f"{n:02d}" for n in range(100)), days):
        first17 = f"{head}{county}{day:%Y%m%d}{tail[:3]}"
        if id_check_digit(first17) == tail[3]:
            found.append(first17 + tail[3])
    return found


def phone_candidates(masked: str, count: int) -> list[str]:
    """`count` phones agreeing with the mask (the whole space is 10,000: a slice of it is asked)."""
    head, tail = masked[:3], masked[-4:]
    middles = (f"{n:04d}" for n in itertools.chain([int(TRUE_PHONE[3:7])], range(0, 10_000, 10_000 // count)))
    return list(dict.fromkeys(f"{head}{m}{tail}" for m in middles))[:count]


@pytest.fixture
def limited(
    settings: Settings, sessions: sessionmaker[Session], vault: PiiVault
) -> Iterator[tuple[TestClient, World]]:
    app = create_app(settings.model_copy(update={"full_number_searches_per_hour": LIMIT}))
    with TestClient(app) as client:
        yield client, build_world(sessions, vault)


def answer(client: TestClient, world: World, role: str, q: str, reason: str | None = None) -> tuple[int, str]:
    params = {"q": q} | ({"reason": reason} if reason else {})
    response = client.get("/api/v1/residents", params=params, headers=world.headers(role))
    body = response.json()
    # The answer as an attacker compares answers: status, and which residents (if any) came back.
    return response.status_code, str(sorted(item["id"] for item in body.get("items", [])))


def shown(client: TestClient, world: World, role: str) -> tuple[str, str, date | int] | None:
    """The masked ID, masked phone and birth date (or year) of 刘莹 as the role sees her (None: not at
    all)."""
    response = client.get("/api/v1/residents", params={"q": "刘莹"}, headers=world.headers(role))
    if response.status_code != 200:
        return None
    [item] = [i for i in response.json()["items"] if i["id"] == world.ids["in_grid"]]
    born = date.fromisoformat(item["birth_date"]) if item["birth_date"] else item["birth_year"]
    return item["id_number_masked"], item["phone_masked"], born


@pytest.mark.parametrize("role", MAY_NOT_REVEAL)
def test_a_role_that_may_not_reveal_learns_nothing_by_searching_candidates(
    limited: tuple[TestClient, World], sessions: sessionmaker[Session], role: str
) -> None:
    client, world = limited
    seen = shown(client, world, role) or shown(client, world, "grid")  # police see no registry
    assert seen is not None
    masked_id, masked_phone, born = seen
    if role in ("grid", "property", "resident"):
        assert born == BORN.year, "the day of birth would narrow the ID number to a handful"
    every_id = id_candidates(masked_id, born)
    assert TRUE_ID in every_id and len(every_id) > 1000  # docs/privacy.md: about 3,300
    ids = [TRUE_ID, *every_id[:: len(every_id) // 30]]  # the whole set is asked in no reasonable time
    phones = phone_candidates(masked_phone, 40)
    assert TRUE_PHONE in phones
    for candidates in (ids, phones, [c.lower() for c in ids]):
        answers = {candidate: answer(client, world, role, candidate, REASON) for candidate in candidates}
        distinct = set(answers.values())
        assert len(distinct) == 1, f"{role} tells candidates apart: {answers}"
        assert next(iter(distinct))[0] in (403, 422), distinct
    with sessions() as session:
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "pii.search")).all() == []


@pytest.mark.parametrize("role", ["admin", "staff"])
def test_a_full_number_search_is_a_reveal_with_a_reason_audited_and_limited(
    limited: tuple[TestClient, World], sessions: sessionmaker[Session], role: str
) -> None:
    client, world = limited
    without = {answer(client, world, role, candidate) for candidate in (TRUE_ID, TRUE_PHONE, "13900000000")}
    assert without == {(422, "[]")}
    short = client.get(
        "/api/v1/residents", params={"q": TRUE_ID, "reason": "看看"}, headers=world.headers(role)
    )
    assert short.status_code == 422 and short.json()["field"] == "reason"
    assert answer(client, world, role, TRUE_ID, REASON) == (200, str([world.ids["in_grid"]]))
    assert answer(client, world, role, TRUE_PHONE, REASON)[0] == 200
    for candidate in id_candidates(*shown_id(client, world, role))[: LIMIT - 2]:
        answer(client, world, role, candidate, REASON)
    limited_out = client.get(
        "/api/v1/residents", params={"q": TRUE_ID, "reason": REASON}, headers=world.headers(role)
    )
    assert limited_out.status_code == 429, limited_out.text
    # Tails and names stay free: the limit is on full numbers only.
    assert answer(client, world, role, TRUE_ID[-4:])[0] == 200
    with sessions() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "pii.search")).all()
    assert len(rows) == LIMIT
    assert {row.actor_name for row in rows} == {f"u-{role}"} and {row.reason for row in rows} == {REASON}
    assert {row.detail["field"] for row in rows if row.detail} == {"id_number", "phone"}
    for row in rows:
        assert TRUE_ID not in str(row.detail) and TRUE_PHONE not in str(row.detail)
        assert TRUE_ID[6:14] not in str(row.detail)


def shown_id(client: TestClient, world: World, role: str) -> tuple[str, date | int]:
    seen = shown(client, world, role)
    assert seen is not None
    return seen[0], seen[2]


def test_tails_are_only_as_long_as_the_mask_shows(limited: tuple[TestClient, World]) -> None:
    client, world = limited
    for longer in (TRUE_ID[-5:], TRUE_ID[-6:], TRUE_PHONE[-5:], TRUE_PHONE[-8:], TRUE_ID[:6]):
        response = client.get("/api/v1/residents", params={"q": longer}, headers=world.headers("grid"))
        assert response.status_code == 422 and response.json()["field"] == "q", longer


def test_the_console_holds_the_same_rule(limited: tuple[TestClient, World]) -> None:
    client, _world = limited
    assert login(client, "u-grid", "long-enough-1").status_code == 303
    for q in (TRUE_ID, TRUE_PHONE):
        page = client.get("/console/residents", params={"q": q, "reason": REASON})
        assert page.status_code == 200 and "只有可以查看完整号码的角色" in page.text
        assert "刘莹" not in page.text.split('id="resident-results"', 1)[1]
    assert "刘莹" in client.get("/console/residents", params={"q": TRUE_ID[-4:]}).text


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_reveal_started_from_another_site_is_refused_and_leaves_no_trace(
    limited: tuple[TestClient, World], sessions: sessionmaker[Session], site: str
) -> None:
    """A link on another site opens with the user's cookie; the reason it carries is not theirs."""
    client, _world = limited
    assert login(client, "u-staff", "long-enough-1").status_code == 303
    urls = [
        f"/api/v1/residents?q={TRUE_ID}&reason={REASON}",
        f"/console/residents?q={TRUE_ID}&reason={REASON}",
        f"/api/v1/residents/export.xlsx?full=true&reason={REASON}",
    ]
    for url in urls:
        refused = client.get(url, headers={"Sec-Fetch-Site": site})
        assert refused.status_code == 403, (url, refused.status_code)
        assert "其他网站" in refused.text and TRUE_ID not in refused.text
    with sessions() as session:
        assert session.scalars(select(AuditEntry).where(AuditEntry.action.like("pii.%"))).all() == []
    for url in urls:  # the same requests from the platform's own pages (or typed in) go through
        for origin in ({"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}, {}):
            assert client.get(url, headers=origin).status_code == 200, url
