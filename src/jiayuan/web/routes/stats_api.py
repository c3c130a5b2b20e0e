"""JSON API of the registry counts (社区底数统计)."""

from __future__ import annotations

from fastapi import APIRouter

from jiayuan.registry.schemas import RegistryStats
from jiayuan.registry.service.stats import registry_stats
from jiayuan.web.auth import CurrentPrincipal
from jiayuan.web.deps import SessionDep

router = APIRouter(prefix="/api/v1", tags=["registry"])


@router.get(
    "/stats",
    response_model=RegistryStats,
    responses={401: {"description": "未登录"}, 403: {"description": "该角色无权查看"}},
)
def get_stats(session: SessionDep, principal: CurrentPrincipal) -> RegistryStats:
    """Compounds, buildings, units, households, residents, vehicles and shops per community, in scope."""
    return registry_stats(session, actor=principal)
