"""Excel over HTTP: export/template/import endpoints and the console import page."""

from __future__ import annotations

import base64
import io
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from python_calamine import CalamineWorkbook
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.kernel.errors import Invalid
from jiayuan.kernel.principal import Role
from jiayuan.registry import excel
from jiayuan.registry.models import Resident
from jiayuan.settings import Settings
from tests.accounts.helpers import login
from tests.excel.conftest import COLUMNS, Place, counts, row, workbook
from tests.factories import make_id, make_user, token_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GOOD_ROW = {"小区": "锦江花园", "楼栋": "1号楼", "单元": "1单元", "户号": "101", "与户主关系": "户主"}


def _staff(sessions: sessionmaker[Session], place: Place, name: str = "zhoumin") -> dict[str, str]:
    user = make_user(sessions, name, Role.STAFF, scopes=[f"community:{place.community_id}"])
    return {"Authorization": f"Bearer {token_for(sessions, user)}"}


def test_endpoints_need_a_login(client: TestClient) -> None:
    assert client.get("/api/v1/residents/export.xlsx").status_code == 401
    assert client.get("/api/v1/residents/template.xlsx").status_code == 401
    files = {"file": ("a.xlsx", excel.template(), XLSX)}
    assert client.post("/api/v1/residents/import", files=files).status_code == 401
    page = client.get("/console/residents/import", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_export_and_template_download(
    client: TestClient, sessions: sessionmaker[Session], place: Place, residents: list[int]
) -> None:
    headers = _staff(sessions, place)
    answer = client.get("/api/v1/residents/export.xlsx", headers=headers, params={"reason": "年度核对"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == XLSX
    assert "attachment" in answer.headers["content-disposition"]
    assert len(excel.read_workbook(answer.content).rows) == 5
    template = client.get("/api/v1/residents/template.xlsx", headers=headers)
    assert template.status_code == 200
    with pytest.raises(Invalid, match="没有可导入的数据"):
        excel.read_workbook(template.content)


def test_import_good_file_then_again(
    client: TestClient, sessions: sessionmaker[Session], place: Place, residents: list[int], db: Session
) -> None:
    headers = _staff(sessions, place)
    full = {"full": "true", "reason": "年度核对"}
    content = client.get("/api/v1/residents/export.xlsx", headers=headers, params=full).content
    files = {"file": ("居民.xlsx", content, XLSX)}
    first = client.post("/api/v1/residents/import", files=files, headers=headers)
    assert first.status_code == 200, first.text
    expected = {"rows": 5, "created": 0, "updated": 0, "unchanged": 5, "households_created": 0, "plans": []}
    assert first.json() == expected | {"written": True, "notices": []}


def test_bad_rows_give_422_with_each_error_and_nothing_written(
    client: TestClient, sessions: sessionmaker[Session], place: Place, residents: list[int], db: Session
) -> None:
    headers = _staff(sessions, place)
    before = counts(db)
    content = workbook(
        [
            row(**GOOD_ROW, 姓名="新人", 身份证号="410181198504120317", 手机号="13800000000"),
            row(**(GOOD_ROW | {"楼栋": "8号楼"}), 姓名="错楼", 身份证号="41018119850412031X"),
        ]
    )
    answer = client.post(
        "/api/v1/residents/import", files={"file": ("x.xlsx", content, XLSX)}, headers=headers
    )
    assert answer.status_code == 422
    body = answer.json()
    assert "未写入任何数据" in body["detail"]
    assert {(e["row"], e["column"]) for e in body["errors"]} >= {(3, "楼栋")}
    assert all(e["reason"] for e in body["errors"])
    assert counts(db) == before


def test_garbage_huge_and_non_xlsx_uploads_are_422_not_500(
    client: TestClient, sessions: sessionmaker[Session], place: Place
) -> None:
    headers = _staff(sessions, place)
    uploads = [
        ("notes.txt", b"hello", "text/plain"),
        ("fake.xlsx", b"PK\x03\x04" + b"\xff" * 5000, XLSX),
        ("empty.xlsx", b"", XLSX),
        ("big.xlsx", b"PK" + b"\x00" * (excel.MAX_BYTES + 10), XLSX),
    ]
    for name, content, kind in uploads:
        answer = client.post(
            "/api/v1/residents/import", files={"file": (name, content, kind)}, headers=headers
        )
        assert answer.status_code == 422, (name, answer.text)
        assert answer.json()["field"] == "file"
    missing = client.post("/api/v1/residents/import", headers=headers)
    assert missing.status_code == 422


def test_police_may_not_export_and_grid_may_not_import(
    client: TestClient, sessions: sessionmaker[Session], place: Place
) -> None:
    police = make_user(sessions, "police", Role.POLICE, scopes=[f"community:{place.community_id}"])
    grid = make_user(sessions, "grid", Role.GRID, scopes=[f"grid:{place.grid_id}"])
    police_headers = {"Authorization": f"Bearer {token_for(sessions, police)}"}
    grid_headers = {"Authorization": f"Bearer {token_for(sessions, grid)}"}
    assert client.get("/api/v1/residents/export.xlsx", headers=police_headers).status_code == 403
    files = {"file": ("a.xlsx", excel.template(), XLSX)}
    assert client.post("/api/v1/residents/import", files=files, headers=grid_headers).status_code == 403


def test_console_import_page_shows_the_errors_and_the_marked_workbook(
    client: TestClient, sessions: sessionmaker[Session], place: Place, residents: list[int], db: Session
) -> None:
    make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{place.community_id}"])
    assert login(client, "zhoumin").status_code == 303
    page = client.get("/console/residents/import")
    assert page.status_code == 200
    assert 'action="/console/residents/import"' in page.text
    assert "/api/v1/residents/template.xlsx" in page.text and "/api/v1/residents/export.xlsx" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    before = counts(db)
    bad = workbook([row(**(GOOD_ROW | {"小区": "无此小区"}), 姓名="某人", 身份证号="410181198504120317")])
    answer = client.post(
        "/console/residents/import",
        data={"csrf_token": token.group(1)},
        files={"file": ("bad.xlsx", bad, XLSX)},
    )
    assert answer.status_code == 422
    assert "未写入任何数据" in answer.text and "无此小区" in answer.text and "<td>2</td>" in answer.text
    link = re.search(r'href="data:[^;]+;base64,([^"]+)"', answer.text)
    assert link
    marked = CalamineWorkbook.from_filelike(io.BytesIO(base64.b64decode(link.group(1))))
    assert marked.get_sheet_by_name("居民").to_python()[0][-1] == "错误原因"
    assert counts(db)["residents"] == before["residents"]
    good = client.get("/api/v1/residents/export.xlsx", params={"full": "true", "reason": "年度核对"}).content
    done = client.post(
        "/console/residents/import",
        data={"csrf_token": token.group(1), "mode": "import"},
        files={"file": ("good.xlsx", good, XLSX)},
        headers={"HX-Request": "true"},
    )
    assert done.status_code == 200 and "导入完成" in done.text and "未变 5 人" in done.text
    garbage = client.post(
        "/console/residents/import",
        data={"csrf_token": token.group(1)},
        files={"file": ("x.txt", b"nonsense", "text/plain")},
    )
    assert garbage.status_code == 422 and "无法" in garbage.text
    no_csrf = client.post("/console/residents/import", files={"file": ("good.xlsx", good, XLSX)})
    assert no_csrf.status_code == 403


def test_the_import_page_names_each_error_in_english_after_the_switch(
    client: TestClient, sessions: sessionmaker[Session], place: Place, residents: list[int]
) -> None:
    make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{place.community_id}"])
    client.cookies.set("lang", "en")
    assert login(client, "zhoumin").status_code == 303
    page = client.get("/console/residents/import")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token and "Download the blank template" in page.text
    bad = workbook([row(**(GOOD_ROW | {"小区": "无此小区"}), 姓名="某人", 身份证号="410181198504120317")])
    answer = client.post(
        "/console/residents/import",
        data={"csrf_token": token.group(1)},
        files={"file": ("bad.xlsx", bad, XLSX)},
    )
    assert answer.status_code == 422
    assert "errors; nothing was written." in answer.text
    assert "Compound “无此小区” does not exist (or is outside your area)" in answer.text
    garbage = client.post(
        "/console/residents/import",
        data={"csrf_token": token.group(1)},
        files={"file": ("x.txt", b"x", "text/plain")},
    )
    assert garbage.status_code == 422 and "Cannot read the file" in garbage.text


@pytest.mark.parametrize(
    ("lang", "notice", "building", "name"),
    [
        (
            None,
            "工作表“居民” P 列的表头“爱好”无法识别",
            "楼栋“8号楼”在小区“锦江花园”中不存在；可填：1号楼",
            "姓名不能包含数字",
        ),
        (
            "en",
            "Column P of sheet “居民”: the header “爱好” is not recognised",
            "valid names: 1号楼",
            "Name cannot contain digits or special symbols",
        ),
    ],
)
def test_the_import_reports_notices_names_and_checks_in_the_language_of_the_request(
    client: TestClient,
    sessions: sessionmaker[Session],
    place: Place,
    lang: str | None,
    notice: str,
    building: str,
    name: str,
) -> None:
    """An unknown column's notice, the valid names of a missing building and the resident's own checks come
    in English with the cookie, in Chinese (as before) without it."""
    headers = _staff(sessions, place)
    if lang:
        client.cookies.set("lang", lang)
    good = workbook(
        [[*row(**GOOD_ROW, 姓名="新人", 身份证号=make_id(date(1985, 4, 12), 31)), "读书"]], [*COLUMNS, "爱好"]
    )
    checked = client.post(
        "/api/v1/residents/import",
        params={"dry_run": "true"},
        files={"file": ("x.xlsx", good, XLSX)},
        headers=headers,
    )
    assert checked.status_code == 200, checked.text
    assert [n for n in checked.json()["notices"] if notice in n], checked.json()["notices"]
    bad = workbook(
        [
            row(**(GOOD_ROW | {"楼栋": "8号楼"}), 姓名="某人", 身份证号=make_id(date(1985, 4, 12), 31)),
            row(**GOOD_ROW, 姓名="张3", 身份证号=make_id(date(1990, 1, 2), 33)),
        ]
    )
    refused = client.post("/api/v1/residents/import", files={"file": ("x.xlsx", bad, XLSX)}, headers=headers)
    assert refused.status_code == 422
    reasons = [e["reason"] for e in refused.json()["errors"]]
    assert [r for r in reasons if building in r] and [r for r in reasons if name in r], reasons


def test_a_large_workbook_is_imported_in_a_child_process_with_the_same_answers(
    real_commits: None,
    settings: Settings,
    sessions: sessionmaker[Session],
    place: Place,
    residents: list[int],
    db: Session,
) -> None:
    from jiayuan.web.app import create_app

    if settings.database_url.startswith("sqlite"):
        # Run late in a full SQLite session, a second process writing to the session's test database
        # left the following tests with "disk I/O error"; the child path is the same on both databases.
        pytest.skip("the child process is exercised on PostgreSQL")
    child_settings = settings.model_copy(update={"import_in_child_bytes": 0})  # every workbook is "large"
    with TestClient(create_app(child_settings)) as client:
        headers = _staff(sessions, place)
        full = {"full": "true", "reason": "年度核对"}
        content = client.get("/api/v1/residents/export.xlsx", headers=headers, params=full).content
        rows = excel.read_workbook(content).sheets[0].rows
        changed = [[r.get(c) for c in excel.COLUMNS] for r in rows]
        changed[0][excel.COLUMNS.index("备注")] = "子进程写入"
        files = {"file": ("居民.xlsx", workbook(changed), XLSX)}
        checked = client.post(
            "/api/v1/residents/import", files=files, headers=headers, params={"dry_run": "true"}
        )
        assert checked.status_code == 200 and checked.json()["written"] is False
        assert checked.json()["plans"][0]["changes"] == [
            {"column": "备注", "old": "楼长", "new": "子进程写入"}
        ]
        done = client.post("/api/v1/residents/import", files=files, headers=headers)
        assert done.status_code == 200 and done.json()["updated"] == 1
        bad = [row(**GOOD_ROW, 姓名="坏人", 身份证号="410181198504120318")]
        refused = client.post(
            "/api/v1/residents/import", files={"file": ("坏.xlsx", workbook(bad), XLSX)}, headers=headers
        )
        assert refused.status_code == 422 and refused.json()["errors"][0]["column"] == "身份证号"
    db.expire_all()
    assert "子进程写入" in {r.note for r in db.query(Resident).all()}
