"""Open311 GeoReport v2 under /open311/v2/ (JSON): services, requests (list and create) and one request.

Every request call carries `api_key`, a platform API token: the feed is scoped to its account like
any other read (police and property see the cases shared with them). Errors are the spec's array of
{code, description}, in Chinese, with the HTTP status (web.errors)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from sqlalchemy.orm import Session

from jiayuan.accounts.service import tokens
from jiayuan.cases.schemas import (
    Open311Created,
    Open311Filter,
    Open311Request,
    Open311RequestIn,
    Open311Service,
)
from jiayuan.cases.service import open311
from jiayuan.kernel.errors import Forbidden, Unauthorized
from jiayuan.kernel.principal import Principal
from jiayuan.web.deps import RowId, SessionDep

PREFIX = "/open311/v2"
router = APIRouter(prefix=PREFIX, tags=["open311"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "参数有误（指出字段）"},
    401: {"description": "缺少 api_key"},
    403: {"description": "api_key 无效，或其账号无权查看或上报"},
    404: {"description": "请求不存在或不在权限范围内"},
}
ApiKey = Annotated[str, Query(max_length=128, description="平台签发的 API 令牌")]
_Text = Annotated[str, Form(max_length=2000)]


def _principal(session: Session, api_key: str) -> Principal:
    """The account behind an api_key: 401 without one, 403 for one that is not (or no longer) valid."""
    if not api_key.strip():
        raise Unauthorized("缺少 api_key：请提供平台签发的 API 令牌", field="api_key")
    try:
        return tokens.principal_for_token(session, api_key.strip())
    except Unauthorized as exc:
        raise Forbidden("api_key 无效：{reason}", field="api_key", reason=exc) from None


@router.get("/services.json", response_model=list[Open311Service], responses=_ERRORS)
def services() -> list[Open311Service]:
    """Our case categories as Open311 services (no key needed: the list holds nothing personal)."""
    return open311.services()


@router.get("/requests.json", response_model=list[Open311Request], responses=_ERRORS)
def list_requests(
    session: SessionDep,
    api_key: ApiKey = "",
    service_request_id: Annotated[str, Query(max_length=2000)] = "",
    service_code: Annotated[str, Query(max_length=500)] = "",
    start_date: Annotated[str, Query(max_length=64)] = "",
    end_date: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(max_length=64)] = "",
) -> list[Open311Request]:
    """Requests within the key's reach, newest first: the spec's filters, at most 90 days and 1000."""
    query = Open311Filter(
        service_request_id=service_request_id,
        service_code=service_code,
        start_date=start_date,
        end_date=end_date,
        status=status,
    )
    return open311.list_requests(session, actor=_principal(session, api_key), query=query)


@router.post("/requests.json", response_model=list[Open311Created], status_code=201, responses=_ERRORS)
def create_request(
    session: SessionDep,
    api_key: Annotated[str, Form(max_length=128)] = "",
    service_code: Annotated[str, Form(max_length=64)] = "",
    jurisdiction_id: Annotated[str, Form(max_length=32)] = "",
    lat: Annotated[str, Form(max_length=32)] = "",
    long: Annotated[str, Form(max_length=32)] = "",
    address_string: _Text = "",
    address_id: Annotated[str, Form(max_length=32)] = "",
    description: _Text = "",
    media_url: _Text = "",
) -> list[Open311Created]:
    """Create a request (form fields of the spec); the reporter's email, name and phone are not kept."""
    data = Open311RequestIn(
        service_code=service_code,
        jurisdiction_id=jurisdiction_id,
        lat=lat,
        long=long,
        address_string=address_string,
        address_id=address_id,
        description=description,
        media_url=media_url,
    )
    return [open311.create_request(session, actor=_principal(session, api_key), data=data)]


@router.get("/requests/{request_id}.json", response_model=list[Open311Request], responses=_ERRORS)
def get_request(request_id: RowId, session: SessionDep, api_key: ApiKey = "") -> list[Open311Request]:
    """One request, as a one-element array like the spec's."""
    return [open311.get_request(session, actor=_principal(session, api_key), request_id=request_id)]
