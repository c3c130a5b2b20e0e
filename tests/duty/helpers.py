"""A community with a grid, a gate and people who stand duty there, for the duty tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts.service import users
from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import LOCAL_TZ
from jiayuan.kernel.principal import Principal, Role
from tests.factories import Tree, add_gate, add_grid, build_tree, make_user


@dataclass
class Crew:
    """The registry tree plus a second grid, a gate, a grid of the other community and the accounts."""

    tree: Tree
    grid2_id: int
    gate_id: int
    far_grid_id: int
    ids: dict[str, int]
    principals: dict[str, Principal]

    @property
    def community_id(self) -> int:
        return self.tree.community.id

    @property
    def grid_id(self) -> int:
        return self.tree.grid.id


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A Beijing time in December 2026 (the 7th is a Monday)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=LOCAL_TZ)


def build_crew(db: Session, sessions: sessionmaker[Session]) -> Crew:
    tree = build_tree(db)
    grid2 = add_grid(db, tree.community.id, "第二网格", [tree.b2])
    gate = add_gate(db, tree.jinjiang, "jjhy-gate1", "1号门")
    far_grid = add_grid(db, tree.other_community.id, "远方网格", [tree.b_far])
    db.commit()
    community = f"community:{tree.community.id}"
    far = f"community:{tree.other_community.id}"
    ids = {
        "admin": make_user(sessions, "shuji", Role.ADMIN, scopes=[community]),
        "staff": make_user(sessions, "zhoumin", Role.STAFF, scopes=[community]),
        "worker": make_user(sessions, "wangwei", Role.GRID, scopes=[f"grid:{tree.grid.id}"]),
        "worker2": make_user(sessions, "zhaoli", Role.GRID, scopes=[f"grid:{grid2.id}"]),
        "leader": make_user(sessions, "sunqiang", Role.STAFF, scopes=[community]),
        "cadre": make_user(sessions, "chenjun", Role.STAFF, scopes=[community]),
        "volunteer": make_user(sessions, "zhouhong", Role.VOLUNTEER, scopes=[community]),
        "resident": make_user(sessions, "liuying", Role.RESIDENT, scopes=[f"household:{tree.h101.id}"]),
        "far_staff": make_user(sessions, "yuanfang", Role.STAFF, scopes=[far]),
        "far_worker": make_user(sessions, "yuanwang", Role.GRID, scopes=[f"grid:{far_grid.id}"]),
    }
    with unit_of_work(sessions) as session:
        principals = {
            name: principal
            for name, user_id in ids.items()
            if (principal := users.active_principal_by_id(session, user_id)) is not None
        }
    return Crew(tree, grid2.id, gate.id, far_grid.id, ids, principals)
