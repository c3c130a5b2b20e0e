"""Resident import at office scale: check and import of a generated workbook, peak memory, ceiling.

Run (from the project root):
    PYTHONPATH=src:. .venv/bin/python bench/registry/bench_import.py --rows 100000 --backend sqlite
    PYTHONPATH=src:. .venv/bin/python bench/registry/bench_import.py --rows 100000 --backend postgresql

With --server it also serves the web app in a child process, imports the workbook through
`POST /api/v1/residents/import` as a community admin, and reads the server's resident memory before
and after (it should come back to where it was).

The workbook is made the way an office's is (one sheet, text cells, 5 compounds × 10 buildings × 4 units,
about three people a household, a phone for most, a tag for some). The check (`plan_import`) and the
import (`import_residents`, one transaction) each run in a fresh child process, which reports its time
and its peak resident memory (ru_maxrss). The ceiling is measured in the same run: the same number of
resident rows of similar width inserted with bare executemany on the same database (no validation,
encryption, hashing or pinyin).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import xlsxwriter
from sqlalchemy import create_engine, text

PII_KEY = "bench-pii-key-0123456789abcdef"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国子轩欣怡浩然梓涵宇轩雨桐"
RELATIONS = ["户主", "配偶", "子女", "父母"]
TAGS = ["", "", "", "党员", "独居老人", "残疾", "退役军人"]


def id_number(born: date, serial: int, region: str = "410181") -> str:
    from jiayuan.registry.validation import id_check_digit

    first17 = f"{region}{born:%Y%m%d}{serial % 1000:03d}"
    return first17 + id_check_digit(first17)


def workbook(rows: int, seed: int = 7, region: str = "410181") -> bytes:
    """`rows` residents, all new, in the bench community's compounds (ID numbers of `region`)."""
    rng = random.Random(seed)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True})
    sheet = book.add_worksheet("居民")
    from jiayuan.registry.excel import COLUMNS

    sheet.write_row(0, 0, list(COLUMNS))
    used: set[str] = set()
    number = 0
    while number < rows:
        household = number // 3
        compound, building, unit = household % 5, (household // 5) % 10, (household // 50) % 4
        room = f"{(household // 200) % 30 + 1}{household % 4 + 1:02d}"
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 30_000))
        number_id = id_number(born, rng.randrange(1000), region)
        if number_id in used:
            continue
        used.add(number_id)
        number += 1
        gender = "男" if int(number_id[16]) % 2 else "女"
        phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}" if rng.random() < 0.8 else ""
        values = [f"小区{compound + 1}", f"{building + 1}号楼", f"{unit + 1}单元", room,
                  rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2)))), gender,
                  born.isoformat(), number_id, phone, RELATIONS[number % 3 if number % 3 else 0],
                  "户籍", rng.choice(TAGS), "", "", ""]  # fmt: skip
        for column, value in enumerate(values):
            if value:
                sheet.write_string(number, column, value)
    book.close()
    return buffer.getvalue()


def make_database(backend: str, directory: Path) -> str:
    from jiayuan.db import migrate

    if backend == "sqlite":
        directory.mkdir(exist_ok=True)
        url = f"sqlite:///{directory / 'import.db'}"
    else:
        name = f"jiayuan_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    migrate.upgrade(url)
    from jiayuan.db.session import make_engine, make_sessionmaker
    from jiayuan.db.uow import unit_of_work
    from jiayuan.registry.models import Building, Community, Compound, Street, Unit

    engine = make_engine(url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        community = Community(street=Street(name="紫荆路街道", city="巩义市"), name="紫荆路社区")
        for c in range(5):
            compound = Compound(community=community, name=f"小区{c + 1}", code=f"c{c + 1}")
            for b in range(10):
                building = Building(compound=compound, name=f"{b + 1}号楼")
                for u in range(4):
                    session.add(Unit(building=building, name=f"{u + 1}单元"))
        session.add(community)
    engine.dispose()
    return url


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()


def child(url: str, path: str, write: bool) -> None:
    """One run in this process; prints seconds, peak RSS and the report's counts as JSON."""
    from jiayuan.db.session import make_engine, make_sessionmaker
    from jiayuan.db.uow import unit_of_work
    from jiayuan.kernel.crypto import PiiVault
    from jiayuan.kernel.principal import Principal
    from jiayuan.registry.service import importing

    content = Path(path).read_bytes()
    engine = make_engine(url)
    vault = PiiVault.from_secret(PII_KEY)
    started = time.perf_counter()
    with unit_of_work(make_sessionmaker(engine)) as session:
        run = importing.import_residents if write else importing.plan_import
        report = run(session, actor=Principal.system(), vault=vault, content=content)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps({"seconds": seconds, "peak_mb": peak_mb, "created": report.created, "rows": report.rows})
    )


def run_child(url: str, path: Path, write: bool) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", url, str(path), "--write" if write else "--check"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def ceiling(url: str, rows: int) -> float:
    """Seconds to insert `rows` rows of the residents' width with bare executemany, one transaction."""
    values = [(i, f"名字{i}", "mingzi", "mz", "g1:" + "x" * 60, f"h{i:060d}", "1234", "g1:" + "y" * 60,
               f"p{i:060d}", "5678", "") for i in range(rows)]  # fmt: skip
    create = ("CREATE TABLE bench_ceiling (id INTEGER PRIMARY KEY, household_id INT, name TEXT, pinyin TEXT, "
              "initials TEXT, id_cipher TEXT, id_hash TEXT UNIQUE, id_tail TEXT, phone_cipher TEXT, "
              "phone_hash TEXT, phone_tail TEXT, note TEXT)")  # fmt: skip
    insert = "INSERT INTO bench_ceiling (household_id, name, pinyin, initials, id_cipher, id_hash, id_tail, "
    insert += "phone_cipher, phone_hash, phone_tail, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///") + ".ceiling")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(create)
        started = time.perf_counter()
        with connection:
            connection.executemany(insert, values)
        return time.perf_counter() - started
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        connection.execute(create.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY"))
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.executemany(insert.replace("?", "%s"), values)
        connection.commit()
        return time.perf_counter() - started


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def serve(url: str, port: int) -> None:
    """The web app on `port` (child process)."""
    import uvicorn

    from jiayuan.settings import Settings
    from jiayuan.web.app import create_app

    settings = Settings(
        env="test", database_url=url, pii_key=PII_KEY, var_dir=Path(url.rsplit("/", 1)[-1] + ".var")
    )  # type: ignore[arg-type]
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


def through_server(url: str, small: bytes, path: Path, second: bytes) -> None:
    """Import through the web app and report its memory before and after."""
    import socket

    import httpx

    from jiayuan.accounts.schemas import parse_scope
    from jiayuan.accounts.service import tokens, users
    from jiayuan.db.session import make_engine, make_sessionmaker
    from jiayuan.db.uow import unit_of_work
    from jiayuan.kernel.principal import Principal, Role

    engine = make_engine(url)
    with unit_of_work(make_sessionmaker(engine)) as session:
        user = users.create_user(session, actor=Principal.system(), username="admin", display_name="书记",
                                    role=Role.ADMIN, password="bench-password-2026",
                                    scopes=[parse_scope("community:1")])  # fmt: skip
        token = tokens.issue_api_token(session, actor=Principal.system(), user_id=user.id, name="bench")
    engine.dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, __file__, "--serve", url, str(port)])
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        headers = {"Authorization": f"Bearer {token}"}

        def upload(content: bytes) -> httpx.Response:
            files = {"file": ("居民.xlsx", content, "application/octet-stream")}
            return httpx.post(f"{base}/api/v1/residents/import", files=files, headers=headers, timeout=600)

        warm = upload(small)  # the code paths loaded once, as in a server that has served an import
        assert warm.status_code == 200, warm.text[:500]
        time.sleep(2)
        before = rss_mb(server.pid)
        started = time.perf_counter()
        answer = upload(path.read_bytes())
        seconds = time.perf_counter() - started
        assert answer.status_code == 200, answer.text[:500]
        time.sleep(2)
        after = rss_mb(server.pid)
        print(f"server: import {seconds:.1f} s; memory {before:.0f} MB before, {after:.0f} MB after "
              f"({after - before:+.0f} MB)")  # fmt: skip
        again = upload(second)
        assert again.status_code == 200, again.text[:500]
        time.sleep(2)
        print(f"server: a second import of as many new residents: {rss_mb(server.pid):.0f} MB after")
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"))
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--server", action="store_true", help="Also import through the web app.")
    parser.add_argument("--serve", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.write)
        return
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        started = time.perf_counter()
        path = folder / "residents.xlsx"
        path.write_bytes(workbook(args.rows))
        made = time.perf_counter() - started
        print(f"workbook: {args.rows:,} rows, {path.stat().st_size / 1e6:.1f} MB in {made:.1f} s")
        url = make_database(args.backend, folder)
        try:
            check = run_child(url, path, write=False)
            print(f"check:  {check['seconds']:.1f} s, peak {check['peak_mb']:.0f} MB")
            imported = run_child(url, path, write=True)
            seconds, peak, created = imported["seconds"], imported["peak_mb"], imported["created"]
            print(f"import: {seconds:.1f} s, peak {peak:.0f} MB, created {created:,}")
            bare = ceiling(url, args.rows)
            ratio = imported["seconds"] / bare
            print(
                f"ceiling (bare executemany, {args.rows:,} rows): {bare:.2f} s; import/ceiling {ratio:.0f}×"
            )
            if args.server:
                drop_database(url)
                url = make_database(args.backend, folder / "server")
                small, second = (
                    workbook(300, seed=3, region="410182"),
                    workbook(args.rows, seed=5, region="410183"),
                )
                through_server(url, small, path, second)
        finally:
            drop_database(url)


if __name__ == "__main__":
    main()
