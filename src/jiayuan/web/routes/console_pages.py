"""The staff console: home, audit log and users pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from jiayuan.accounts import service
from jiayuan.accounts.schemas import USER_ROLES, AuditSearch
from jiayuan.kernel.errors import Forbidden
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import Principal, Role
from jiayuan.web.auth import PagePrincipal
from jiayuan.web.deps import SessionDep
from jiayuan.web.templating import render

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)


def _areas(principal: Principal) -> list[dict[str, str]]:
    """The console areas this principal may open, as cards on the home page."""
    areas = [
        {
            "href": "/console/residents",
            "title": "居民",
            "text": "社区底数：小区、楼栋、住户与居民，按姓名、拼音、电话尾号查找。",
            "icon": "🏠",
        },
    ]
    if principal.has_role(Role.ADMIN):
        areas += [
            {
                "href": "/console/users",
                "title": "用户",
                "text": "账户、角色与负责范围；停用账户、解除锁定。",
                "icon": "👥",
            },
            {
                "href": "/console/audit",
                "title": "审计",
                "text": "谁在何时对谁做了什么、为什么；可筛选并导出 Excel。",
                "icon": "📋",
            },
        ]
    return areas


def _forbidden(request: Request, message: str) -> Response:
    return render(request, "console/forbidden.html", {"message": message}, status_code=403)


@router.get("")
def console_home(request: Request, principal: PagePrincipal) -> Response:
    """The landing page with links to the areas of the console."""
    return render(request, "console/index.html", {"areas": _areas(principal)})


@router.get("/audit")
def audit_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    search: Annotated[AuditSearch, Query()],
) -> Response:
    """The audit log with filters; htmx requests get only the results table."""
    try:
        results = service.search_audit(
            session, actor=principal, criteria=search.criteria(), params=search.paging()
        )
    except Forbidden as exc:
        return _forbidden(request, exc.message)
    query = search.model_dump(mode="json", exclude_none=True, exclude={"page", "size"})
    context = {"results": results, "search": search, "query": query}
    if request.headers.get("hx-request"):
        return render(request, "console/_audit_results.html", context)
    return render(request, "console/audit.html", context)


@router.get("/users")
def users_page(
    request: Request,
    principal: PagePrincipal,
    session: SessionDep,
    paging: Annotated[PageParams, Query()],
) -> Response:
    """Users of the admin's communities."""
    try:
        users = service.list_users(session, actor=principal, params=paging)
    except Forbidden as exc:
        return _forbidden(request, exc.message)
    return render(request, "console/users.html", {"users": users, "roles": USER_ROLES})
