"""Use cases about people: the communities whose rosters someone works with, and who may stand duty."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jiayuan.accounts.schemas import ScopeKind
from jiayuan.accounts.service import users
from jiayuan.duty import policies
from jiayuan.duty.schemas import PersonOut
from jiayuan.duty.service.common import home_of
from jiayuan.kernel.principal import ROLE_LABELS, Principal
from jiayuan.registry.service import structure


def home_communities(session: Session, *, actor: Principal) -> list[int]:
    """The communities whose rosters the actor works with, for choosing one on a page."""
    policies.require_reader(actor)
    if actor.is_system:
        return [c.id for c in structure.list_communities(session, actor=actor)]
    return sorted(home_of(session, actor))


def candidates(session: Session, *, actor: Principal, community_id: int) -> list[PersonOut]:
    """The people who may stand duty in a community (its office's choice when rostering), by username."""
    policies.require_editor(actor, community_id)
    grids = structure.list_grids(session, actor=Principal.system(), community_id=community_id)
    compounds = structure.list_compounds(session, actor=Principal.system(), community_id=community_id)
    scopes = [(ScopeKind.COMMUNITY, community_id)]
    scopes += [(ScopeKind.GRID, g.id) for g in grids] + [(ScopeKind.COMPOUND, c.id) for c in compounds]
    return [
        PersonOut(user_id=user_id, name=name, role=role.value, role_label=ROLE_LABELS[role])
        for user_id, name, role in users.active_users_in_scopes(session, scopes, policies.ON_DUTY_ROLES)
    ]
