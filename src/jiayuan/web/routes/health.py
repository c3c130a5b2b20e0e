"""Liveness and readiness for load balancers and `make demo`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(request: Request) -> dict[str, str]:
    """Answer `ok` once the database answers."""
    with request.app.state.context.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ok"}
