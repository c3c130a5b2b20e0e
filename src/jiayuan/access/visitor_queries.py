"""Queries of visitor passes: the scope and the filters of the list."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import ColumnElement, Select, false, or_, select, true

from jiayuan.access.models import VisitorPass
from jiayuan.access.schemas import VisitorFilter
from jiayuan.access.states import visitor_state_clause
from jiayuan.kernel.clock import LOCAL_TZ
from jiayuan.registry import directory
from jiayuan.registry.policies import Scope


def visitor_scope_clause(scope: Scope) -> ColumnElement[bool]:
    """Visitor passes inside a registry scope, as a condition on the visitor table."""
    if scope.everything:
        return true()
    parts: list[ColumnElement[bool]] = []
    if scope.community_ids:
        parts.append(VisitorPass.community_id.in_(sorted(scope.community_ids)))
    if scope.compound_ids:
        parts.append(VisitorPass.compound_id.in_(sorted(scope.compound_ids)))
    if scope.grid_ids:
        parts.append(VisitorPass.household_id.in_(directory.households_in_grids(scope.grid_ids)))
    if scope.household_ids:
        parts.append(VisitorPass.household_id.in_(sorted(scope.household_ids)))
    return or_(*parts) if parts else false()


def visitors_where(scope: Scope, criteria: VisitorFilter, *, at: datetime) -> Select[VisitorPass]:
    """Visitor passes in scope matching the filter, newest first."""
    query = select(VisitorPass).where(visitor_scope_clause(scope)).order_by(VisitorPass.id.desc())
    if criteria.compound_id is not None:
        query = query.where(VisitorPass.compound_id == criteria.compound_id)
    if criteria.household_id is not None:
        query = query.where(VisitorPass.household_id == criteria.household_id)
    if criteria.status is not None:
        query = query.where(visitor_state_clause(criteria.status, at=at))
    if criteria.on is not None:
        # Passes whose window overlaps that day in the community's time zone.
        start = datetime.combine(criteria.on, time(), tzinfo=LOCAL_TZ)
        end = start + timedelta(days=1)
        query = query.where(VisitorPass.valid_from < end, VisitorPass.valid_until >= start)
    return query
