"""Stored evidence snapshots: the size limit, a failed commit, pruning by age, by total size, of orphans."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jiayuan.cli.main import app as cli
from jiayuan.db.uow import unit_of_work
from jiayuan.devices.models import DeadLetter, DeviceSnapshot
from jiayuan.devices.protocol import SNAPSHOT_MAX_BYTES, Topics
from jiayuan.devices.service import snapshots
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal
from jiayuan.settings import get_settings
from tests.devices.snapshot_helpers import jpeg, snapshot_message
from tests.factories import seed_site

CAM = "jjhy-gate1-cam"
TOPICS = Topics("jiayuan")
SYSTEM = Principal.system()


def store(session: Session, files: SnapshotFiles, snapshot_id: str, data: bytes, age: timedelta) -> None:
    message = snapshot_message("jiayuan", CAM, snapshot_id, data, utcnow() - age)
    outcome = snapshots.accept_snapshots(
        session, actor=SYSTEM, messages=[message], topics=TOPICS, files=files
    )
    assert not outcome.rejections, outcome.rejections


def stored_ids(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return sorted(session.scalars(select(DeviceSnapshot.snapshot_id)))


def files_on_disk(var: Path) -> list[str]:
    return sorted(p.name for p in (var / "snapshots").rglob("*") if p.is_file())


def test_a_picture_over_512_kib_is_a_dead_letter_with_its_first_bytes(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    files = SnapshotFiles(tmp_path)
    big = jpeg() + bytes(SNAPSHOT_MAX_BYTES)
    with unit_of_work(sessions) as session:
        seed_site(session)
        message = snapshot_message("jiayuan", CAM, "snap-big", big, utcnow())
        outcome = snapshots.accept_snapshots(
            session, actor=SYSTEM, messages=[message], topics=TOPICS, files=files
        )
    assert [r.reason for r in outcome.rejections] == ["too_large"]
    with sessions() as session:
        letter = session.scalars(select(DeadLetter)).one()
        assert (letter.reason, letter.device_id, letter.raw_size, len(letter.raw)) == (
            "too_large",
            CAM,
            len(big),
            4096,
        )
        assert letter.raw == big[:4096]
    assert stored_ids(sessions) == [] and not (tmp_path / "snapshots").exists()


def test_a_failed_commit_leaves_a_file_that_the_redelivery_stores_and_pruning_spares(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    files = SnapshotFiles(tmp_path)
    with sessions() as session:
        seed_site(session)
    picture = jpeg(33)
    with pytest.raises(RuntimeError), unit_of_work(sessions) as session:
        store(session, files, "snap-1", picture, timedelta(0))
        raise RuntimeError("the database went away before the commit")
    assert stored_ids(sessions) == [] and files_on_disk(tmp_path) == ["snap-1.jpg"]
    with unit_of_work(sessions) as session:  # the broker delivers it again
        store(session, files, "snap-1", picture, timedelta(0))
    with unit_of_work(sessions) as session:
        result = snapshots.prune(
            session,
            actor=SYSTEM,
            files=files,
            retention=snapshots.Retention(days=30, max_bytes=10**9, orphan_grace=timedelta(0)),
        )
    assert (result.orphans, result.kept) == (0, 1)
    assert stored_ids(sessions) == ["snap-1"] and files_on_disk(tmp_path) == ["snap-1.jpg"]


def test_pruning_keeps_the_retention_and_the_byte_budget(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    files = SnapshotFiles(tmp_path)
    pictures = {f"snap-{i}": jpeg(20 * i) for i in range(6)}
    ages = {f"snap-{i}": timedelta(days=age) for i, age in enumerate((40, 31, 20, 10, 2, 0))}
    with unit_of_work(sessions) as session:
        seed_site(session)
        for snapshot_id, data in pictures.items():
            store(session, files, snapshot_id, data, ages[snapshot_id])
    # An orphan old enough to go, one perhaps still waiting for its commit, and a crashed write's leftover.
    day = files.absolute(files.relative_path(CAM, "x", utcnow())).parent
    old_orphan, new_orphan, temp = day / "lost-old.jpg", day / "lost-new.jpg", day / ".snap-7.ab12cd34.tmp"
    for path in (old_orphan, new_orphan, temp):
        path.write_bytes(jpeg(1))
    an_hour_ago = time.time() - 3600
    os.utime(old_orphan, (an_hour_ago, an_hour_ago))
    os.utime(temp, (an_hour_ago, an_hour_ago))
    # The three newest fit the budget, a fourth does not.
    budget = sum(len(pictures[f"snap-{i}"]) for i in (3, 4, 5))
    retention = snapshots.Retention(days=30, max_bytes=budget + len(pictures["snap-2"]) - 1)

    with pytest.raises(RuntimeError), unit_of_work(sessions) as session:
        first = snapshots.prune(session, actor=SYSTEM, files=files, retention=retention)
        raise RuntimeError("rolled back")
    assert (first.expired, first.over_budget, first.orphans) == (2, 1, 1)
    assert stored_ids(sessions) == sorted(pictures)  # rows and their files stay together
    assert {f"{s}.jpg" for s in pictures} <= set(files_on_disk(tmp_path))
    assert not old_orphan.exists() and not temp.exists()  # no row to wait for: gone at once

    with unit_of_work(sessions) as session:
        result = snapshots.prune(session, actor=SYSTEM, files=files, retention=retention)
    assert (result.expired, result.over_budget, result.orphans, result.kept, result.kept_bytes) == (
        2,
        1,
        0,
        3,
        budget,
    )
    assert stored_ids(sessions) == ["snap-3", "snap-4", "snap-5"]
    assert files_on_disk(tmp_path) == ["lost-new.jpg", "snap-3.jpg", "snap-4.jpg", "snap-5.jpg"]
    old_days = {p.parent.name for p in (tmp_path / "snapshots").rglob("*.jpg")}
    assert len(old_days) == 3  # the emptied day folders went with their files


def test_the_prune_command_applies_the_settings(
    sessions: sessionmaker[Session], database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = SnapshotFiles(tmp_path)
    with unit_of_work(sessions) as session:
        seed_site(session)
        store(session, files, "snap-old", jpeg(10), timedelta(days=3))
        store(session, files, "snap-new", jpeg(20), timedelta(hours=1))
    monkeypatch.setenv("JIAYUAN_DATABASE_URL", database_url)
    monkeypatch.setenv("JIAYUAN_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("JIAYUAN_SNAPSHOT_RETENTION_DAYS", "2")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["snapshots", "prune"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "已删除过期 1 张" in result.output and "保留 1 张" in result.output
    assert stored_ids(sessions) == ["snap-new"] and files_on_disk(tmp_path) == ["snap-new.jpg"]
