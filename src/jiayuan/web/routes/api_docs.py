"""The OpenAPI description and its documentation pages, for the office's own staff only.

`/openapi.json` needs a signed-in admin or staff member (session or bearer token). `/docs` and
`/redoc` are the same behind the console's sign-in and are not served at all in production: they load
Swagger UI / ReDoc from a CDN with inline script, which an offline office server can neither fetch nor
allow under its Content-Security-Policy.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import Response

from jiayuan.kernel.errors import Forbidden
from jiayuan.kernel.principal import Principal, Role
from jiayuan.web.auth import PagePrincipal, require_roles

OPENAPI_URL = "/openapi.json"
DOCS_ROLES = (Role.ADMIN, Role.STAFF)
# Only on these two pages: what the CDN-hosted documentation viewers need to run.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; worker-src blob:; connect-src 'self'; frame-ancestors 'none'"
)


def router_for(app: FastAPI, *, with_pages: bool) -> APIRouter:
    """The schema route, and the documentation pages when `with_pages`."""
    router = APIRouter(include_in_schema=False)

    @router.get(OPENAPI_URL)
    def openapi(_staff: Annotated[Principal, Depends(require_roles(*DOCS_ROLES))]) -> dict[str, Any]:
        return app.openapi()

    if not with_pages:
        return router

    def _page(request: Request, principal: Principal, html: Response) -> Response:
        if not principal.has_role(*DOCS_ROLES):
            raise Forbidden("接口文档仅对管理员和工作人员开放")
        html.headers["Content-Security-Policy"] = DOCS_CSP
        return html

    @router.get("/docs")
    def swagger(request: Request, principal: PagePrincipal) -> Response:
        return _page(
            request, principal, get_swagger_ui_html(openapi_url=OPENAPI_URL, title=f"{app.title} · 文档")
        )

    @router.get("/redoc")
    def redoc(request: Request, principal: PagePrincipal) -> Response:
        return _page(request, principal, get_redoc_html(openapi_url=OPENAPI_URL, title=f"{app.title} · 文档"))

    return router
