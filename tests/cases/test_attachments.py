"""Photos and voice notes on cases: what is kept, who reads it, what is refused, and a report or an
action sent twice that is taken once."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.cases.models import Case, CaseAttachment, CaseStep
from jiayuan.cases.service import reporting, uploads
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal, Role
from tests.accounts.helpers import csrf_token, login
from tests.factories import Tree, bearer_for, make_user, token_for

GPS_IFD = 0x8825
ORIENTATION = 0x0112
# The first bytes of a WebM/Opus recording as Chrome's MediaRecorder writes it.
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01" + b"\x00" * 200


def phone_photo(width: int = 320, height: int = 160) -> bytes:
    """A JPEG as a phone writes it: lying on its side (EXIF orientation 6) with the GPS position."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 50.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def upload(
    client: TestClient, headers: dict[str, str], data: bytes, name: str = "p.jpg"
) -> dict[str, object]:
    answer = client.post("/api/v1/cases/attachments", files={"file": (name, data)}, headers=headers)
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_a_photo_is_kept_upright_without_its_gps_and_read_only_within_reach(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    resident = bearer_for(sessions, "liuying", Role.RESIDENT, f"household:{tree.h101.id}")
    neighbour = bearer_for(sessions, "wangfang", Role.RESIDENT, f"household:{tree.h102.id}")
    staff = bearer_for(sessions, "zhoumin", Role.STAFF, f"community:{tree.community.id}")
    elsewhere = bearer_for(sessions, "qianli", Role.STAFF, f"community:{tree.other_community.id}")
    photo = upload(client, resident, phone_photo())
    assert (photo["kind"], photo["content_type"]) == ("photo", "image/jpeg")
    # Before it is given with a report, only its uploader reads it.
    assert client.get(str(photo["url"]), headers=resident).status_code == 200
    assert client.get(str(photo["url"]), headers=staff).status_code == 404

    body = {"category": "repair", "title": "楼道灯不亮", "attachment_ids": [photo["id"]]}
    case = client.post("/api/v1/cases", json=body, headers=resident).json()
    assert [a["id"] for a in case["steps"][0]["attachments"]] == [photo["id"]]
    for reader, status in ((resident, 200), (staff, 200), (neighbour, 404), (elsewhere, 404)):
        assert client.get(str(photo["url"]), headers=reader).status_code == status
    kept = client.get(str(photo["url"]), headers=staff)
    assert kept.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(kept.content)) as image:
        assert image.size == (160, 320)  # turned upright
        assert not image.getexif().get_ifd(GPS_IFD) and ORIENTATION not in image.getexif()

    # Given once, it cannot be given again, not even by its uploader.
    again = client.post("/api/v1/cases", json=body | {"title": "再报一次"}, headers=resident)
    assert again.status_code == 422 and again.json()["field"] == "attachment_ids"


def test_a_voice_note_goes_with_an_action(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    staff = bearer_for(sessions, "zhoumin", Role.STAFF, f"community:{tree.community.id}")
    case = client.post(
        "/api/v1/cases",
        json={"category": "noise", "title": "夜间施工", "household_id": tree.h101.id},
        headers=staff,
    ).json()
    voice = upload(client, staff, WEBM, "note.webm")
    assert (voice["kind"], voice["kind_label"], voice["content_type"]) == ("voice", "语音", "audio/webm")
    done = client.post(
        f"/api/v1/cases/{case['id']}/actions",
        json={"action": "accept", "note": "已电话联系", "attachment_ids": [voice["id"]]},
        headers=staff,
    ).json()
    assert done["steps"][-1]["attachments"][0]["url"] == voice["url"]
    assert client.get(str(voice["url"]), headers=staff).content == WEBM


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")
    return out.getvalue()


def _iso_media(brand: bytes) -> bytes:
    return b"\x00\x00\x00\x18ftyp" + brand + b"\x00" * 200


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"", "文件是空的"),
        (b"not a picture at all", "不是可识别的图片"),
        (b"%PDF-1.7\n" + b"0" * 300, "不是可识别的图片"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "不是可识别的图片"),
        (phone_photo()[:400], "不是可识别的图片"),  # cut off in transfer
        (_iso_media(b"heic"), "不是可识别的图片"),  # an iPhone's HEIC photo
        (_png(9000, 9000), "图片过大"),  # small file, 81 million pixels
        (b"\x00" * (10 * 1024 * 1024 + 1), "文件超过 10 MB"),
        (WEBM + b"\x00" * (2 * 1024 * 1024), "语音超过 2 MB"),
    ],
    ids=["empty", "text", "pdf", "svg", "truncated", "heic", "pixel-bomb", "too-large", "long-voice"],
)
def test_what_is_not_a_photo_or_voice_note_is_refused_by_name(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree, data: bytes, said: str
) -> None:
    staff = bearer_for(sessions, "zhoumin", Role.STAFF, f"community:{tree.community.id}")
    refused = client.post("/api/v1/cases/attachments", files={"file": ("x.jpg", data)}, headers=staff)
    assert refused.status_code == 422 and refused.json()["field"] == "file"
    assert said in refused.json()["detail"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(CaseAttachment)) == 0


def test_someone_elses_upload_cannot_be_given_and_nothing_is_half_written(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    staff = bearer_for(sessions, "zhoumin", Role.STAFF, f"community:{tree.community.id}")
    grid = bearer_for(sessions, "sunli", Role.GRID, f"grid:{tree.grid.id}")
    theirs = upload(client, staff, phone_photo())
    body = {
        "category": "safety",
        "title": "井盖松动",
        "household_id": tree.h101.id,
        "attachment_ids": [theirs["id"]],
    }
    refused = client.post("/api/v1/cases", json=body, headers=grid)
    assert refused.status_code == 422 and refused.json()["field"] == "attachment_ids"
    assert f"附件 #{theirs['id']}" in refused.json()["detail"]
    assert (
        client.post("/api/v1/cases", json=body | {"attachment_ids": [424242]}, headers=grid).status_code
        == 422
    )
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0
        assert session.scalar(select(CaseAttachment.case_id)) is None
    assert client.post("/api/v1/cases/attachments", files={"file": ("a", b"")}, headers={}).status_code == 401


def test_a_report_and_an_action_sent_twice_are_taken_once(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    resident = bearer_for(sessions, "liuying", Role.RESIDENT, f"household:{tree.h101.id}")
    staff_id = make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    staff = {"Authorization": f"Bearer {token_for(sessions, staff_id)}"}
    staff_two = bearer_for(sessions, "chenjing", Role.STAFF, f"community:{tree.community.id}")
    body = {"category": "sos", "title": "家中老人摔倒", "request_id": "7f1c2a9e-4b1d-4c55-9d0e-2f7a1b3c4d5e"}
    first = client.post("/api/v1/cases", json=body, headers=resident)
    second = client.post("/api/v1/cases", json=body, headers=resident)
    assert first.status_code == 201 and second.json()["id"] == first.json()["id"]
    # The same name from another person is their own report.
    other = bearer_for(sessions, "wangfang", Role.RESIDENT, f"household:{tree.h102.id}")
    assert client.post("/api/v1/cases", json=body, headers=other).json()["id"] != first.json()["id"]

    case_id = first.json()["id"]
    action = {"action": "accept", "request_id": "offline-0001"}
    for _ in range(2):
        answer = client.post(f"/api/v1/cases/{case_id}/actions", json=action, headers=staff)
        assert answer.status_code == 200 and answer.json()["state"] == "accepted"
    # Replayed after the case moved on, it still does nothing (no 409 for the phone to show).
    dispatch = {"action": "dispatch", "assignee_user_id": staff_id}
    assert client.post(f"/api/v1/cases/{case_id}/actions", json=dispatch, headers=staff).status_code == 200
    replayed = client.post(f"/api/v1/cases/{case_id}/actions", json=action, headers=staff)
    assert replayed.status_code == 200 and replayed.json()["state"] == "dispatched"
    # The same name from another person is that person's own action: it is taken, not lost.
    arrive = {"action": "arrive", "request_id": action["request_id"]}
    other = client.post(f"/api/v1/cases/{case_id}/actions", json=arrive, headers=staff_two)
    assert other.status_code == 200 and other.json()["state"] == "on_site"
    with sessions() as session:
        assert (
            session.scalar(select(func.count()).select_from(Case).where(Case.reporter_name == "liuying")) == 1
        )
        steps = session.scalars(select(CaseStep.action).where(CaseStep.case_id == case_id)).all()
        assert steps.count("accept") == 1
    bad = client.post(
        f"/api/v1/cases/{case_id}/actions", json={"action": "accept", "request_id": "x"}, headers=staff
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "request_id"


def test_uploads_wait_a_day_and_one_person_keeps_few_waiting(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    resident = bearer_for(sessions, "liuying", Role.RESIDENT, f"household:{tree.h101.id}")
    small = _png(8, 8)
    for _ in range(uploads.MAX_WAITING_UPLOADS):
        upload(client, resident, small)
    refused = client.post("/api/v1/cases/attachments", files={"file": ("p.png", small)}, headers=resident)
    assert refused.status_code == 429 and refused.json()["field"] == "file"
    given = upload_and_report(client, sessions, tree)
    with sessions() as session:
        dropped = uploads.drop_waiting_uploads(
            session, actor=Principal.system(), now=utcnow() + timedelta(days=1, minutes=1)
        )
        session.commit()
        assert dropped == uploads.MAX_WAITING_UPLOADS
        assert session.scalars(select(CaseAttachment.id)).all() == [given]


def upload_and_report(client: TestClient, sessions: sessionmaker[Session], tree: Tree) -> int:
    staff = bearer_for(sessions, "zhoumin", Role.STAFF, f"community:{tree.community.id}")
    photo = upload(client, staff, phone_photo())
    body = {
        "category": "repair",
        "title": "水管漏水",
        "household_id": tree.h101.id,
        "attachment_ids": [photo["id"]],
    }
    assert client.post("/api/v1/cases", json=body, headers=staff).status_code == 201
    return int(str(photo["id"]))


def test_the_console_takes_an_action_with_its_photos_or_keeps_nothing(
    client: TestClient, sessions: sessionmaker[Session], tree: Tree
) -> None:
    make_user(sessions, "zhoumin", Role.STAFF, scopes=[f"community:{tree.community.id}"])
    assert login(client, "zhoumin").status_code == 303
    token = csrf_token(client)
    made = client.post(
        "/api/v1/cases",
        json={"category": "repair", "title": "单元门禁坏了", "household_id": tree.h101.id},
        headers={"X-CSRF-Token": token},
    )
    case_id = made.json()["id"]
    refused = client.post(
        f"/console/cases/{case_id}/actions",
        data={"action": "accept", "csrf_token": token},
        files=[("files", ("ok.jpg", phone_photo())), ("files", ("bad.jpg", b"not a picture"))],
    )
    assert refused.status_code == 422 and "不是可识别的图片" in refused.text
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(CaseAttachment)) == 0
    done = client.post(
        f"/console/cases/{case_id}/actions",
        data={"action": "accept", "note": "现场照片", "csrf_token": token},
        files=[("files", ("ok.jpg", phone_photo()))],
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = client.get(f"/console/cases/{case_id}").text
    with sessions() as session:
        attachment_id = session.scalar(select(CaseAttachment.id))
    assert f'<img src="/api/v1/cases/attachments/{attachment_id}"' in page


def test_a_report_sent_twice_at_once_is_taken_once(
    sessions: sessionmaker[Session], tree: Tree, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: two reports cannot be written at once")
    import threading

    from jiayuan.accounts.service.users import active_principal_by_id
    from jiayuan.cases.schemas import CaseIn
    from jiayuan.db.uow import unit_of_work

    user_id = make_user(sessions, "liuying", Role.RESIDENT, scopes=[f"household:{tree.h101.id}"])
    with sessions() as session:
        resident = active_principal_by_id(session, user_id)
    assert resident is not None
    data = CaseIn(category="repair", title="水管漏水", request_id="same-request-0001")
    first_holds, release = threading.Event(), threading.Event()
    made: list[int] = []

    def first() -> None:
        with unit_of_work(sessions) as session:
            made.append(reporting.report_case(session, actor=resident, data=data).id)
            first_holds.set()
            release.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_holds.wait(10)
    threading.Timer(1.0, release.set).start()  # the second waits on the first's row, then finds it
    with unit_of_work(sessions) as session:
        made.append(reporting.report_case(session, actor=resident, data=data).id)
    thread.join(10)
    assert len(made) == 2 and made[0] == made[1]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
