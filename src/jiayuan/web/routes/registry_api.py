"""JSON API of the registry: residents (search, read, write, reveal) and the tree above them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from jiayuan.kernel.paging import MAX_PAGE, MAX_PAGE_SIZE, Page, PageParams
from jiayuan.registry.schemas import (
    MAX_ID,
    BuildingOut,
    CommunityOut,
    CompoundOut,
    GridOut,
    HouseholdOut,
    ResidentCreate,
    ResidentOut,
    ResidentPage,
    ResidentPatch,
    RevealIn,
    RevealOut,
    ShopOut,
    UnitOut,
    VehicleOut,
)
from jiayuan.registry.service import resident_search, residents, structure
from jiayuan.web.auth import CurrentPrincipal, client_ip
from jiayuan.web.deps import ContextDep, RowId, SessionDep

router = APIRouter(prefix="/api/v1", tags=["registry"])

ParentId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
PageNo = Annotated[int, Query(ge=1, le=MAX_PAGE, description="页码，从 1 开始")]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="每页条数")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "未登录"},
    403: {"description": "角色无权访问"},
    404: {"description": "不存在或不在权限范围内"},
    422: {"description": "输入有误（指出字段）"},
}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = _ERRORS | {409: {"description": "同一人已登记"}}


@router.get("/residents", response_model=ResidentPage, responses=_ERRORS)
def search_residents(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    context: ContextDep,
    q: Annotated[
        str | None, Query(max_length=64, description="姓名、全拼、首字母、手机/身份证尾号、完整号码或车牌")
    ] = None,
    page: PageNo = 1,
    size: PageSize = 20,
    reason: Annotated[
        str | None, Query(max_length=200, description="按完整号码查找时的理由（至少 4 个字；记入审计）")
    ] = None,
) -> ResidentPage:
    """Search residents in the caller's scope; a blank `q` lists them all. Numbers come masked.

    A full ID number or phone in `q` is a reveal: admins and staff only, with `reason`, audited and
    limited per account (docs/privacy.md).
    """
    return resident_search.search_residents(
        session,
        actor=principal,
        vault=context.vault,
        q=q,
        page=PageParams(page=page, size=size),
        reason=reason,
        ip=client_ip(request),
        full_number_limit=context.settings.full_number_searches_per_hour,
    )


@router.get("/residents/{resident_id}", response_model=ResidentOut, responses=_ERRORS)
def get_resident(
    resident_id: RowId, principal: CurrentPrincipal, session: SessionDep, context: ContextDep
) -> ResidentOut:
    """One resident, masked."""
    return residents.show_resident(session, actor=principal, vault=context.vault, resident_id=resident_id)


@router.post("/residents", response_model=ResidentOut, status_code=201, responses=_WRITE_ERRORS)
def add_resident(
    body: ResidentCreate, principal: CurrentPrincipal, session: SessionDep, context: ContextDep
) -> ResidentOut:
    """Register a resident in a household (admin and staff of its community)."""
    return residents.add_resident(
        session, actor=principal, vault=context.vault, household_id=body.household_id, data=body
    )


@router.patch("/residents/{resident_id}", response_model=ResidentOut, responses=_WRITE_ERRORS)
def update_resident(
    resident_id: RowId,
    body: ResidentPatch,
    principal: CurrentPrincipal,
    session: SessionDep,
    context: ContextDep,
) -> ResidentOut:
    """Change some fields of a resident; the same rules as for a new one."""
    return residents.update_resident(
        session, actor=principal, vault=context.vault, resident_id=resident_id, patch=body
    )


@router.post("/residents/{resident_id}/reveal", response_model=RevealOut, responses=_ERRORS)
def reveal(
    resident_id: RowId,
    body: RevealIn,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    context: ContextDep,
) -> RevealOut:
    """The full ID number or phone, for admin and staff, with a reason; every reveal is audited."""
    return residents.reveal(
        session,
        actor=principal,
        vault=context.vault,
        resident_id=resident_id,
        request=body,
        ip=client_ip(request),
    )


@router.get("/communities", response_model=list[CommunityOut], responses=_ERRORS)
def communities(principal: CurrentPrincipal, session: SessionDep) -> list[CommunityOut]:
    """Communities in the caller's scope."""
    return structure.list_communities(session, actor=principal)


@router.get("/compounds", response_model=list[CompoundOut], responses=_ERRORS)
def compounds(
    principal: CurrentPrincipal, session: SessionDep, community_id: ParentId = None
) -> list[CompoundOut]:
    """Compounds in scope, optionally of one community."""
    return structure.list_compounds(session, actor=principal, community_id=community_id)


@router.get("/buildings", response_model=list[BuildingOut], responses=_ERRORS)
def buildings(
    principal: CurrentPrincipal, session: SessionDep, compound_id: ParentId = None
) -> list[BuildingOut]:
    """Buildings in scope, optionally of one compound."""
    return structure.list_buildings(session, actor=principal, compound_id=compound_id)


@router.get("/units", response_model=list[UnitOut], responses=_ERRORS)
def units(principal: CurrentPrincipal, session: SessionDep, building_id: ParentId = None) -> list[UnitOut]:
    """Units in scope, optionally of one building."""
    return structure.list_units(session, actor=principal, building_id=building_id)


@router.get("/households", response_model=Page[HouseholdOut], responses=_ERRORS)
def households(
    principal: CurrentPrincipal,
    session: SessionDep,
    unit_id: ParentId = None,
    page: PageNo = 1,
    size: PageSize = 20,
) -> Page[HouseholdOut]:
    """Households in scope with their member counts, optionally of one unit."""
    return structure.list_households(
        session, actor=principal, unit_id=unit_id, page=PageParams(page=page, size=size)
    )


@router.get("/households/{household_id}", response_model=HouseholdOut, responses=_ERRORS)
def household(
    household_id: RowId, principal: CurrentPrincipal, session: SessionDep, context: ContextDep
) -> HouseholdOut:
    """One household with its members (masked) and vehicles."""
    return structure.show_household(session, actor=principal, vault=context.vault, household_id=household_id)


@router.get("/vehicles", response_model=Page[VehicleOut], responses=_ERRORS)
def vehicles(
    principal: CurrentPrincipal,
    session: SessionDep,
    plate: Annotated[str | None, Query(max_length=16, description="车牌（从头匹配，可省略省份简称）")] = None,
    page: PageNo = 1,
    size: PageSize = 20,
) -> Page[VehicleOut]:
    """Resident vehicles in scope, optionally by plate."""
    return structure.list_vehicles(
        session, actor=principal, plate=plate, page=PageParams(page=page, size=size)
    )


@router.get("/grids", response_model=list[GridOut], responses=_ERRORS)
def grids(principal: CurrentPrincipal, session: SessionDep, community_id: ParentId = None) -> list[GridOut]:
    """Grids and the buildings they cover."""
    return structure.list_grids(session, actor=principal, community_id=community_id)


@router.get("/shops", response_model=Page[ShopOut], responses=_ERRORS)
def shops(
    principal: CurrentPrincipal,
    session: SessionDep,
    community_id: ParentId = None,
    page: PageNo = 1,
    size: PageSize = 20,
) -> Page[ShopOut]:
    """Shops on the commercial streets in scope."""
    return structure.list_shops(
        session, actor=principal, community_id=community_id, page=PageParams(page=page, size=size)
    )
