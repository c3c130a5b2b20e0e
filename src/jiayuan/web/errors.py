"""One mapping from domain errors and validation failures to clear JSON answers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from jiayuan.kernel.errors import JiayuanError, RowErrors


def _field_of(location: tuple[int | str, ...] | list[int | str]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(location[-1] if location else "")


def install_error_handlers(app: FastAPI) -> None:
    """Domain errors keep their status; invalid input is 422 naming each field."""

    @app.exception_handler(JiayuanError)
    async def _domain_error(_request: Request, exc: JiayuanError) -> JSONResponse:
        body: dict[str, object] = {"detail": exc.message}
        if exc.field:
            body["field"] = exc.field
        if isinstance(exc, RowErrors):
            body["errors"] = [{"row": e.row, "column": e.column, "reason": e.reason} for e in exc.errors]
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_of(error.get("loc", ())), "message": error.get("msg", "invalid")}
            for error in exc.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse({"detail": f"输入有误 {summary}", "errors": errors}, status_code=422)
