"""Who is acting: every service call takes one and filters or refuses by it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from jiayuan.kernel.i18n import N_, NC_


class Role(StrEnum):
    """The roles of DESIGN.md §1."""

    ADMIN = "admin"
    STAFF = "staff"
    GRID = "grid"
    PROPERTY = "property"
    POLICE = "police"
    VOLUNTEER = "volunteer"
    RESIDENT = "resident"
    SCREEN = "screen"
    DEVICE = "device"
    SYSTEM = "system"


# Where a role label has an English text of its own (a page shows it with `translate_in`).
ROLE_CONTEXT = "role"
ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: N_("管理员/书记"),
    Role.STAFF: N_("社区工作人员"),
    Role.GRID: N_("网格员"),
    Role.PROPERTY: N_("物业"),
    Role.POLICE: N_("民警"),
    Role.VOLUNTEER: N_("志愿者"),
    Role.RESIDENT: NC_("role", "居民"),  # one resident, where 居民 alone is the Residents page
    Role.SCREEN: N_("大屏（只读）"),
    Role.DEVICE: N_("设备"),
    Role.SYSTEM: N_("系统"),
}


@dataclass(frozen=True)
class Principal:
    """The acting user, device or the system itself, with the scope it may touch.

    Scope ids are registry ids: communities for admin/staff/police/volunteer and the office screen,
    grids for grid workers, compounds for property companies, a household for a resident, a device
    for a device.
    """

    role: Role
    user_id: int | None = None
    username: str = ""
    community_ids: frozenset[int] = field(default_factory=frozenset)
    compound_ids: frozenset[int] = field(default_factory=frozenset)
    grid_ids: frozenset[int] = field(default_factory=frozenset)
    household_id: int | None = None
    person_id: int | None = None
    device_id: str | None = None

    @classmethod
    def system(cls) -> Principal:
        """The platform acting on its own (ingest, scheduler, seeding)."""
        return cls(role=Role.SYSTEM, username="system")

    @property
    def is_system(self) -> bool:
        """Whether this is the platform itself, which may touch everything."""
        return self.role is Role.SYSTEM

    def has_role(self, *roles: Role) -> bool:
        """Whether the principal holds one of the roles (the system holds all)."""
        return self.is_system or self.role in roles
