"""Resident imports from the web: small workbooks in the request, large ones in a child process.

A 100,000-row workbook takes half a minute of CPU and a few hundred MB while it is checked and written.
In a child process (spawned, so it shares nothing with the server's threads) neither the time nor the
memory is the web server's: its other users keep a quick console, and its memory stays where it was.
The child opens the same database and writes in one transaction, exactly as the request would.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import anyio.to_thread
from sqlalchemy.orm import Session

from jiayuan.db.session import make_engine, make_sessionmaker
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.crypto import PiiVault
from jiayuan.kernel.principal import Principal
from jiayuan.registry.schemas import ImportReport
from jiayuan.registry.service import importing
from jiayuan.settings import Settings
from jiayuan.web.context import AppContext


async def run_import(
    context: AppContext, session: Session, *, actor: Principal, content: bytes, write: bool
) -> ImportReport:
    """Check (`write=False`) or import a workbook in the request's transaction, or for a large one in a
    child process's own (the request's is committed first: it may hold the sign-in's write, which would
    lock SQLite against the child); domain errors (RowErrors, Invalid …) are raised here either way."""
    if len(content) <= context.settings.import_in_child_bytes:
        return _run(session, context.vault, actor, content, write)
    session.commit()
    return await anyio.to_thread.run_sync(_in_child, context.settings, actor, content, write)


def _in_child(settings: Settings, actor: Principal, content: bytes, write: bool) -> ImportReport:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_child, settings, actor, content, write).result()


def _child(settings: Settings, actor: Principal, content: bytes, write: bool) -> ImportReport:
    engine = make_engine(settings.database_url)
    try:
        vault = PiiVault.from_secret(settings.pii_key.get_secret_value())
        with unit_of_work(make_sessionmaker(engine)) as session:
            return _run(session, vault, actor, content, write)
    finally:
        engine.dispose()


def _run(session: Session, vault: PiiVault, actor: Principal, content: bytes, write: bool) -> ImportReport:
    run = importing.import_residents if write else importing.plan_import
    return run(session, actor=actor, vault=vault, content=content)
