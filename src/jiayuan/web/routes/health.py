"""Liveness and readiness for load balancers, service managers and `make demo`.

Unauthenticated, so it shows states and counts only: no URLs, hosts, paths or error texts.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

_STATE_MESSAGES = {
    "starting": "设备事件接入进程正在启动",
    "restarting": "设备事件接入进程已退出，正在重启",
    "stopped": "设备事件接入进程已停止",
}


class IngestState(Protocol):
    """A snapshot of the supervised ingest (see `jiayuan.ingest.supervisor.IngestHealth`)."""

    @property
    def state(self) -> str: ...

    @property
    def since(self) -> datetime: ...

    @property
    def restarts(self) -> int: ...

    @property
    def last_exit(self) -> str | None: ...


class IngestHealthSource(Protocol):
    """Whatever runs the ingest next to this web app (`jiayuan serve` gives its supervisor)."""

    def health(self) -> IngestState: ...


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """200 once the database answers and the ingest run by this process (if any) is running; else 503."""
    try:
        with request.app.state.context.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        # The cause names hosts and paths: it goes to the log, not to whoever asks.
        log.warning("health check: the database does not answer", exc_info=True)
        return JSONResponse(
            {"status": "unavailable", "database": "unavailable", "message": "数据库无法连接"}, status_code=503
        )
    source: IngestHealthSource | None = request.app.state.ingest_health
    if source is None:
        # Without a broker there is no ingest; with one, it runs as its own service (`jiayuan ingest`).
        state = "separate" if request.app.state.context.settings.mqtt_url else "not_configured"
        return JSONResponse({"status": "ok", "ingest": {"state": state}})
    ingest = source.health()
    up = ingest.state == "running"
    body: dict[str, object] = {
        "state": ingest.state,
        "since": ingest.since.isoformat(),
        "restarts": ingest.restarts,
        "last_exit": ingest.last_exit,
    }
    if not up:
        body["message"] = _STATE_MESSAGES.get(ingest.state, ingest.state)
    return JSONResponse(
        {"status": "ok" if up else "unavailable", "ingest": body}, status_code=200 if up else 503
    )
