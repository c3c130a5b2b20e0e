"""Storing and pruning evidence snapshots, beside the bare file-system ceiling.

    PYTHONPATH=src .venv/bin/python bench/bench_snapshots.py [--pg-admin-url URL] [--files 20000]

In one run, per backend (SQLite file; PostgreSQL when an admin URL is given):
- store: `accept_snapshots` on batches of 50 real 640x360 JPEGs (checks, 1/8 decode, row, durable write),
  committed per batch as the ingest does; ceiling: the same bytes written with temp file, fsync, rename.
- prune: one `prune` pass over `--files` stored snapshots that removes nothing (the steady state every
  minute: the sums, and the orphan scan listing every file); ceiling: the same folder walk (scandir, one
  stat per file) alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import create_engine, text

from jiayuan.db import migrate
from jiayuan.db.base import table_of
from jiayuan.db.bulk import insert_rows
from jiayuan.db.session import make_engine, make_sessionmaker, normalise_url
from jiayuan.db.uow import unit_of_work
from jiayuan.devices.models import DeviceSnapshot
from jiayuan.devices.protocol import Topics
from jiayuan.devices.schemas import PruneResult
from jiayuan.devices.service import snapshots
from jiayuan.devices.service.pipeline import RawMessage
from jiayuan.devices.snapshot_files import SnapshotFiles
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal
from jiayuan.registry.models import Community, Compound, Device, Gate, Street

CAM = "bench-gate1-cam"
BATCH = 50


def pictures(count: int) -> list[bytes]:
    """Camera-like frames: noise over gradients, about 40-60 KiB each as JPEG."""
    rng = np.random.default_rng(7)
    ramp = np.tile(np.linspace(0, 200, 640, dtype=np.uint8), (360, 1))
    out = []
    for _ in range(count):
        frame = np.dstack([ramp, ramp[::-1], ramp]) + rng.integers(0, 40, (360, 640, 3), dtype=np.uint8)
        out.append(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes())
    return out


def seed(url: str) -> None:
    engine = make_engine(url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        street = Street(name="街道", city="巩义市")
        community = Community(street=street, name="社区")
        compound = Compound(community=community, name="小区", code="bench")
        gate = Gate(compound=compound, code="bench-gate1", name="1号门")
        session.add_all([street, community, compound, gate])
        session.flush()
        session.add(Device(id=CAM, gate_id=gate.id, kind="camera", name="1号门全景"))
    engine.dispose()


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def bench_store(url: str, var: Path, data: list[bytes]) -> tuple[float, float]:
    """Seconds to store `data` through the use case, and through bare durable writes."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    files = SnapshotFiles(var / "store")
    topics = Topics("jiayuan")

    def store() -> None:
        for start in range(0, len(data), BATCH):
            now = utcnow()
            messages = [
                RawMessage("mqtt", topics.snapshot(CAM, f"s{start + i}"), jpeg, now)
                for i, jpeg in enumerate(data[start : start + BATCH])
            ]
            with unit_of_work(sessions) as session:
                snapshots.accept_snapshots(
                    session, actor=Principal.system(), messages=messages, topics=topics, files=files
                )

    bare = SnapshotFiles(var / "bare")

    def ceiling() -> None:
        now = utcnow()
        for i, jpeg in enumerate(data):
            bare.write(bare.relative_path(CAM, f"s{i}", now), jpeg)

    took = timed(store)
    floor = timed(ceiling)
    engine.dispose()
    return took, floor


def bench_prune(url: str, var: Path, count: int, jpeg: bytes) -> tuple[float, float]:
    """Seconds for a prune pass over `count` stored snapshots that removes nothing, and for a bare walk."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    files = SnapshotFiles(var / "prune")
    now = utcnow()
    rows = []
    for i in range(count):
        at = now - timedelta(minutes=30 + i % 5000)
        relative = files.relative_path(CAM, f"p{i}", at)
        target = files.absolute(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(jpeg)  # setting up: no fsync needed
        rows.append(
            {"device_id": CAM, "snapshot_id": f"p{i}", "received_at": at, "community_id": 1,
             "compound_id": 1, "gate_id": 1, "size": len(jpeg), "sha256": "0" * 64, "path": relative}
        )  # fmt: skip
    with unit_of_work(sessions) as session:
        for start in range(0, count, 1000):
            insert_rows(session, table_of(DeviceSnapshot), rows[start : start + 1000])
    retention = snapshots.Retention(days=30, max_bytes=10**12)
    results: list[PruneResult] = []

    def prune() -> None:
        with unit_of_work(sessions) as session:
            results.append(
                snapshots.prune(session, actor=Principal.system(), files=files, retention=retention)
            )

    def walk() -> None:
        for _ in files.files():  # scandir and one stat per file, nothing else
            pass

    took = statistics.median(timed(prune) for _ in range(3))
    assert results[-1].kept >= count and results[-1].orphans == 0, results[-1]
    floor = statistics.median(timed(walk) for _ in range(3))
    engine.dispose()
    return took, floor


def database(backend: str, folder: Path, admin_url: str | None) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'bench.db'}"
    else:
        assert admin_url
        name = f"jiayuan_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    migrate.upgrade(url)
    seed(url)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg-admin-url", default=None)
    parser.add_argument("--snapshots", type=int, default=500)
    parser.add_argument("--files", type=int, default=20000)
    args = parser.parse_args()
    data = pictures(args.snapshots)
    mean_kib = sum(map(len, data)) / len(data) / 1024
    print(f"{len(data)} JPEGs of 640x360, {mean_kib:.0f} KiB on average; load {os.getloadavg()[0]:.1f}")
    backends = ["sqlite"] + (["postgresql"] if args.pg_admin_url else [])
    for backend in backends:
        with tempfile.TemporaryDirectory() as folder:
            url = database(backend, Path(folder), args.pg_admin_url)
            took, floor = bench_store(url, Path(folder), data)
            print(
                f"{backend} store: {len(data) / took:.0f}/s ({took * 1000 / len(data):.1f} ms each); "
                f"ceiling (bare durable write) {len(data) / floor:.0f}/s; ratio {took / floor:.2f}"
            )
            took, floor = bench_prune(url, Path(folder), args.files, data[0])
            print(
                f"{backend} prune pass over {args.files} snapshots: {took * 1000:.0f} ms; "
                f"ceiling (folder walk) {floor * 1000:.0f} ms; ratio {took / floor:.1f}"
            )
            if backend == "postgresql":
                admin = create_engine(normalise_url(args.pg_admin_url), isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
