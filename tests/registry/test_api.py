"""The registry JSON API: search, read, write, reveal and the tree, with bad input and scope."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.models import AuditEntry
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal, Role
from jiayuan.registry.service import residents
from tests.factories import Tree, build_tree, make_id, make_user, person, token_for

BORN = date(1990, 3, 7)
ID_NUMBER = make_id(BORN, 2)

Headers = Callable[..., dict[str, str]]


@pytest.fixture
def tree(sessions: sessionmaker[Session], vault: PiiVault) -> Tree:
    """The small tree with 刘莹 in 锦江花园 101 and 欧阳娜娜 in the other community."""
    with unit_of_work(sessions) as session:
        built = build_tree(session)
        system = Principal.system()
        data = person("刘莹", BORN, 2, phone="13812345678", tags=["党员"])
        residents.add_resident(session, actor=system, vault=vault, household_id=built.h101.id, data=data)
        far = person("欧阳娜娜", BORN, 4)
        residents.add_resident(session, actor=system, vault=vault, household_id=built.h_far.id, data=far)
    return built


@pytest.fixture
def auth(sessions: sessionmaker[Session], tree: Tree) -> Headers:
    """Bearer headers for a new user of a role and scope."""
    counter = iter(range(1000))

    def headers(role: Role, *scopes: str) -> dict[str, str]:
        scopes = scopes or (f"community:{tree.community.id}",)
        user_id = make_user(sessions, f"{role.value}{next(counter)}", role, scopes=scopes)
        return {"Authorization": f"Bearer {token_for(sessions, user_id)}"}

    return headers


def resident_id(client: TestClient, headers: dict[str, str], q: str = "刘莹") -> int:
    found = client.get("/api/v1/residents", params={"q": q}, headers=headers).json()
    return int(found["items"][0]["id"])


def test_search_needs_a_credential(client: TestClient, tree: Tree) -> None:
    assert client.get("/api/v1/residents", params={"q": "ly"}).status_code == 401


def test_staff_search_is_masked_and_scoped(client: TestClient, auth: Headers) -> None:
    staff = auth(Role.STAFF)
    for q in ("刘莹", "liuying", "ly", "5678", ID_NUMBER[-4:], "豫A12345", ""):
        response = client.get("/api/v1/residents", params={"q": q}, headers=staff)
        assert response.status_code == 200, (q, response.text)
        body = response.json()
        assert [item["name"] for item in body["items"]] == ["刘莹"], q
        assert ID_NUMBER not in response.text and "13812345678" not in response.text
    item = body["items"][0]
    assert item["phone_masked"] == "138****5678" and item["tags"] == ["党员"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "12"}, "q"),
        ({"q": "%"}, "q"),
        ({"q": "x" * 65}, "q"),
        ({"page": 0}, "page"),
        ({"page": 100_001}, "page"),
        ({"size": 201}, "size"),
        ({"page": "abc"}, "page"),
    ],
)
def test_bad_search_parameters_are_422_naming_the_field(
    client: TestClient, auth: Headers, params: dict[str, object], field: str
) -> None:
    response = client.get("/api/v1/residents", params=params, headers=auth(Role.STAFF))
    assert response.status_code == 422, response.text
    body = response.json()
    named = {body.get("field")} | {e["field"] for e in body.get("errors", [])}
    assert field in named, body


def test_huge_page_is_empty_not_an_error(client: TestClient, auth: Headers) -> None:
    body = client.get(
        "/api/v1/residents", params={"page": 100_000, "size": 200}, headers=auth(Role.STAFF)
    ).json()
    assert body["items"] == [] and body["total"] == 1


def test_read_one_and_unknown_ids(client: TestClient, auth: Headers) -> None:
    staff = auth(Role.STAFF)
    rid = resident_id(client, staff)
    one = client.get(f"/api/v1/residents/{rid}", headers=staff)
    assert one.status_code == 200 and one.json()["address"]["compound"] == "锦江花园"
    assert client.get("/api/v1/residents/424242", headers=staff).status_code == 404
    assert client.get("/api/v1/residents/0", headers=staff).status_code == 422
    assert client.get("/api/v1/residents/99999999999999", headers=staff).status_code == 422
    assert client.get("/api/v1/residents/abc", headers=staff).status_code == 422


def test_out_of_scope_resident_looks_missing(client: TestClient, auth: Headers, tree: Tree) -> None:
    far = resident_id(client, auth(Role.STAFF, f"community:{tree.other_community.id}"), "欧阳娜娜")
    assert client.get(f"/api/v1/residents/{far}", headers=auth(Role.STAFF)).status_code == 404


@pytest.mark.parametrize("role", [Role.POLICE, Role.VOLUNTEER])
def test_police_and_volunteers_see_no_residents(client: TestClient, auth: Headers, role: Role) -> None:
    headers = auth(role)
    assert client.get("/api/v1/residents", params={"q": "ly"}, headers=headers).status_code == 403
    assert client.get("/api/v1/households", headers=headers).status_code == 403
    assert client.get("/api/v1/vehicles", headers=headers).status_code == 403
    assert client.get("/api/v1/compounds", headers=headers).status_code == 200


def new_resident(tree: Tree, **changes: object) -> dict[str, object]:
    born = date(1962, 10, 1)
    body: dict[str, object] = {
        "household_id": tree.h102.id,
        "name": "单雄信",
        "id_number": make_id(born, 9),
        "gender": "男",
        "birth_date": born.isoformat(),
        "phone": "13700001234",
        "relation": "户主",
        "residence_type": "常住",
        "tags": ["退役军人"],
    }
    return body | changes


def test_create_and_patch_are_audited(
    client: TestClient, auth: Headers, tree: Tree, sessions: sessionmaker[Session]
) -> None:
    staff = auth(Role.STAFF)
    created = client.post("/api/v1/residents", json=new_resident(tree), headers=staff)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert created.json()["id_number_masked"].endswith(make_id(date(1962, 10, 1), 9)[-4:])
    assert client.get("/api/v1/residents", params={"q": "sxx"}, headers=staff).json()["total"] == 1
    patched = client.patch(
        f"/api/v1/residents/{rid}", json={"phone": "13900009999", "tags": []}, headers=staff
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["phone_masked"] == "139****9999" and patched.json()["tags"] == []
    with sessions() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == str(rid))).all()
    assert sorted(actions) == ["resident.create", "resident.update"]


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"id_number": make_id(date(1962, 10, 1), 9)[:17] + "0"}, 422, "id_number"),
        ({"gender": "女"}, 422, "gender"),
        ({"birth_date": "1962-10-02"}, 422, "birth_date"),
        ({"phone": "123456"}, 422, "phone"),
        ({"name": "名" * 40}, 422, "name"),
        ({"name": "刘\u0000莹"}, 422, "name"),
        ({"note": "x" * 300}, 422, "note"),
        ({"tags": ["贵宾"]}, 422, "tags.0"),
        ({"household_id": 999_999}, 422, "household_id"),
        ({"household_id": 2**40}, 422, "household_id"),
        ({"unexpected": 1}, 422, "unexpected"),
        ({"id_number": ID_NUMBER, "gender": "女", "birth_date": BORN.isoformat()}, 409, "id_number"),
    ],
)
def test_bad_create_names_the_field_and_writes_nothing(
    client: TestClient, auth: Headers, tree: Tree, changes: dict[str, object], status: int, field: str
) -> None:
    staff = auth(Role.STAFF)
    response = client.post("/api/v1/residents", json=new_resident(tree, **changes), headers=staff)
    assert response.status_code == status, response.text
    body = response.json()
    named = {body.get("field")} | {e["field"] for e in body.get("errors", [])}
    assert field in named, body
    assert client.get("/api/v1/residents", headers=staff).json()["total"] == 1


def test_missing_required_fields(client: TestClient, auth: Headers, tree: Tree) -> None:
    response = client.post("/api/v1/residents", json={"household_id": tree.h101.id}, headers=auth(Role.STAFF))
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} >= {"name", "id_number", "gender", "birth_date"}
    assert client.post("/api/v1/residents", content=b"not json", headers=auth(Role.STAFF)).status_code == 422


def test_grid_worker_cannot_write(client: TestClient, auth: Headers, tree: Tree) -> None:
    grid = auth(Role.GRID, f"grid:{tree.grid.id}")
    assert client.post("/api/v1/residents", json=new_resident(tree), headers=grid).status_code == 403
    rid = resident_id(client, grid)
    assert client.patch(f"/api/v1/residents/{rid}", json={"note": "x"}, headers=grid).status_code == 403


def test_bad_patch_keeps_the_record(client: TestClient, auth: Headers) -> None:
    staff = auth(Role.STAFF)
    rid = resident_id(client, staff)
    response = client.patch(f"/api/v1/residents/{rid}", json={"gender": "男"}, headers=staff)
    assert response.status_code == 422 and response.json()["field"] == "gender"
    assert client.get(f"/api/v1/residents/{rid}", headers=staff).json()["gender"] == "女"
    assert client.patch("/api/v1/residents/424242", json={"note": "x"}, headers=staff).status_code == 404


def test_reveal_with_reason_is_audited(
    client: TestClient, auth: Headers, sessions: sessionmaker[Session]
) -> None:
    staff = auth(Role.STAFF)
    rid = resident_id(client, staff)
    shown = client.post(
        f"/api/v1/residents/{rid}/reveal",
        json={"field": "id_number", "reason": "办理高龄津贴核对身份"},
        headers=staff,
    )
    assert shown.status_code == 200 and shown.json()["value"] == ID_NUMBER
    phone = client.post(
        f"/api/v1/residents/{rid}/reveal", json={"field": "phone", "reason": "联系本人核实"}, headers=staff
    )
    assert phone.json()["value"] == "13812345678"
    with sessions() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "pii.reveal")).all()
    assert [(r.reason, r.detail) for r in rows] == [
        ("办理高龄津贴核对身份", {"field": "id_number"}),
        ("联系本人核实", {"field": "phone"}),
    ]
    assert all(ID_NUMBER not in str(r.detail) for r in rows)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"field": "id_number"}, "reason"),
        ({"field": "id_number", "reason": "看看"}, "reason"),
        ({"field": "id_number", "reason": "   看看   "}, "reason"),
        ({"field": "name", "reason": "核实身份信息"}, "field"),
    ],
)
def test_reveal_needs_a_reason_and_a_known_field(
    client: TestClient, auth: Headers, sessions: sessionmaker[Session], body: dict[str, str], field: str
) -> None:
    staff = auth(Role.STAFF)
    response = client.post(f"/api/v1/residents/{resident_id(client, staff)}/reveal", json=body, headers=staff)
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["errors"]}
    with sessions() as session:
        assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "pii.reveal")) is None


def test_reveal_refused_for_other_roles(client: TestClient, auth: Headers, tree: Tree) -> None:
    rid = resident_id(client, auth(Role.STAFF))
    body = {"field": "id_number", "reason": "核实身份信息"}
    grid = auth(Role.GRID, f"grid:{tree.grid.id}")
    assert client.post(f"/api/v1/residents/{rid}/reveal", json=body, headers=grid).status_code == 403
    assert (
        client.post(f"/api/v1/residents/{rid}/reveal", json=body, headers=auth(Role.POLICE)).status_code
        == 403
    )
    far = auth(Role.ADMIN, f"community:{tree.other_community.id}")
    assert client.post(f"/api/v1/residents/{rid}/reveal", json=body, headers=far).status_code == 404


def test_tree_endpoints(client: TestClient, auth: Headers, tree: Tree) -> None:
    staff = auth(Role.STAFF)
    get = lambda path, **params: client.get(f"/api/v1/{path}", params=params, headers=staff)  # noqa: E731
    assert [c["name"] for c in get("communities").json()] == ["紫荆路社区"]
    assert [c["name"] for c in get("compounds", community_id=tree.community.id).json()] == [
        "锦江花园",
        "森海一期",
    ]
    assert get("compounds", community_id=tree.other_community.id).status_code == 404
    assert [b["name"] for b in get("buildings", compound_id=tree.jinjiang.id).json()] == ["1号楼"]
    units = get("units", building_id=tree.b1.id).json()
    households = get("households", unit_id=units[0]["id"]).json()
    assert [(h["room"], h["member_count"]) for h in households["items"]] == [("101", 1), ("102", 0)]
    one = get(f"households/{tree.h101.id}").json()
    assert [m["name"] for m in one["members"]] == ["刘莹"] and [v["plate"] for v in one["vehicles"]] == [
        "豫A12345"
    ]
    assert ID_NUMBER not in get(f"households/{tree.h101.id}").text
    assert get(f"households/{tree.h_far.id}").status_code == 404
    assert [v["plate"] for v in get("vehicles", plate="豫A1").json()["items"]] == ["豫A12345"]
    assert [g["name"] for g in get("grids").json()] == ["第一网格"]
    assert get("shops").json()["total"] == 0
    assert get("units", building_id=2**40).status_code == 422
