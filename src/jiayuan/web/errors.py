"""One mapping from domain errors and validation failures to clear answers: JSON for the API, the
refusal page for the console's pages."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from jiayuan.kernel.errors import JiayuanError, RowErrors
from jiayuan.web.i18n import N_, check_text, error_text, translate
from jiayuan.web.templating import render, row_reason

# Paths of pages a person reads in a browser; everything else answers JSON.
PAGE_PREFIXES = ("/console", "/docs", "/redoc", "/h5")
# Pages outside those prefixes whose refusals are pages too.
PAGE_PATHS = frozenset({"/m"})
# Open311 clients expect the GeoReport v2 error array; a 422 of ours is the spec's 400 there.
OPEN311_PREFIX = "/open311/"


def open311_error(status: int, message: str) -> JSONResponse:
    """The GeoReport v2 error answer: a list of {code, description}."""
    status = 400 if status == 422 else status
    return JSONResponse([{"code": status, "description": message}], status_code=status)


def _field_of(location: tuple[int | str, ...] | list[int | str]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(location[-1] if location else "")


_HEADINGS = {401: N_("请先登录"), 403: N_("无权访问"), 404: N_("未找到")}
# The resident's pages name a wrong field in words.
_H5_FIELDS = {
    "visitor_id": N_("访客通行证编号"),
    "case_id": N_("事件编号"),
    "days": N_("有效天数"),
    "entries": N_("可进出次数"),
    "name": N_("访客姓名"),
    "phone": N_("手机号"),
    "note": N_("说明"),
}


def refusal_page(request: Request, exc: JiayuanError) -> Response:
    """The page a refused request gets: what happened and the message, with the refusal's status."""
    heading = _HEADINGS.get(exc.status, N_("无法完成"))
    values = {"heading": heading, "message": error_text(exc)}
    template = "h5/refused.html" if request.url.path.startswith("/h5") else "console/refused.html"
    return render(request, template, values, status_code=exc.status)


def install_error_handlers(app: FastAPI) -> None:
    """Domain errors keep their status (a page says so on the refusal page); invalid input is 422
    naming each field."""

    @app.exception_handler(JiayuanError)
    async def _domain_error(request: Request, exc: JiayuanError) -> Response:
        if request.url.path.startswith(PAGE_PREFIXES) or request.url.path in PAGE_PATHS:
            return refusal_page(request, exc)
        if request.url.path.startswith(OPEN311_PREFIX):
            return open311_error(exc.status, exc.message)
        # Chinese for devices and integrators; a browser switched to English reads its language.
        body: dict[str, object] = {"detail": error_text(exc)}
        if exc.field:
            body["field"] = exc.field
        if isinstance(exc, RowErrors):
            body["errors"] = [
                {"sheet": e.sheet, "row": e.row, "column": e.column, "reason": row_reason(e)}
                for e in exc.errors
            ]
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/h5"):  # a resident's page: words first, the field's code beside
            _ = translate
            named = [_field_of(error.get("loc", ())) for error in exc.errors()]
            words = [
                _("{label}（{field}）").format(label=_(_H5_FIELDS.get(f, N_("填写内容"))), field=f)
                for f in dict.fromkeys(named)
            ]
            message = _("提交的内容有误：{fields}。请返回检查后重试").format(fields=_("、").join(words))
            values = {"heading": N_("无法完成"), "message": message}
            return render(request, "h5/refused.html", values, status_code=422)
        errors = [
            {"field": _field_of(error.get("loc", ())), "message": check_text(error) or "invalid"}
            for error in exc.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        if request.url.path.startswith(OPEN311_PREFIX):
            return open311_error(400, f"参数有误 {summary}")
        detail = translate(N_("输入有误 {summary}")).format(summary=summary)
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)
