"""What the duty API takes and gives: roles on duty, places, shifts, templates, holidays, who is on now."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from jiayuan.kernel.clock import InputDate, InputDatetime
from jiayuan.kernel.i18n import N_, Shown
from jiayuan.kernel.ids import MAX_ROW_ID


class DutyRole(StrEnum):
    """What a person is on duty as; the escalation chain runs grid worker → 网格长 → 值班干部 → 社区书记."""

    GRID_WORKER = "grid_worker"
    GRID_LEADER = "grid_leader"
    CADRE = "cadre"
    SECRETARY = "secretary"
    GUARD = "guard"
    VOLUNTEER = "volunteer"

    @property
    def label(self) -> str:
        """网格员 / 网格长 / 值班干部 / 社区书记 / 物业保安 / 志愿者."""
        return DUTY_ROLE_LABELS[self]


DUTY_ROLE_LABELS = {
    DutyRole.GRID_WORKER: N_("网格员"),
    DutyRole.GRID_LEADER: N_("网格长"),
    DutyRole.CADRE: N_("值班干部"),
    DutyRole.SECRETARY: N_("社区书记"),
    DutyRole.GUARD: N_("物业保安"),
    DutyRole.VOLUNTEER: N_("志愿者"),
}

# Who a case is handed to, in order, while nobody takes it up.
CHAIN = (DutyRole.GRID_WORKER, DutyRole.GRID_LEADER, DutyRole.CADRE, DutyRole.SECRETARY)


class PlaceKind(StrEnum):
    """Where a shift is: a grid, a gate, or the whole community."""

    GRID = "grid"
    GATE = "gate"
    COMMUNITY = "community"

    @property
    def label(self) -> str:
        """网格 / 出入口 / 全社区."""
        return {PlaceKind.GRID: N_("网格"), PlaceKind.GATE: N_("出入口"), PlaceKind.COMMUNITY: N_("全社区")}[
            self
        ]


# The places each role may be on duty at (a 网格长 answers for one grid or for all of them).
ROLE_PLACES = {
    DutyRole.GRID_WORKER: (PlaceKind.GRID,),
    DutyRole.GRID_LEADER: (PlaceKind.GRID, PlaceKind.COMMUNITY),
    DutyRole.CADRE: (PlaceKind.COMMUNITY,),
    DutyRole.SECRETARY: (PlaceKind.COMMUNITY,),
    DutyRole.GUARD: (PlaceKind.GATE,),
    DutyRole.VOLUNTEER: (PlaceKind.GATE,),
}

RowIdField = Field(ge=1, le=MAX_ROW_ID)


class _Post(BaseModel):
    """Who is on duty as what, where."""

    model_config = ConfigDict(extra="forbid")

    community_id: int = RowIdField
    user_id: int = RowIdField
    duty_role: DutyRole
    place_kind: PlaceKind
    place_id: int | None = Field(
        default=None, ge=1, le=MAX_ROW_ID, description="网格或出入口编号；全社区留空"
    )


class ShiftIn(_Post):
    """One shift; a time without an offset is Beijing time."""

    starts_at: InputDatetime
    ends_at: InputDatetime
    note: str = Field(default="", max_length=200)


class ShiftChange(BaseModel):
    """A one-off change of a shift: another person, other times, a note (what is left out stays)."""

    model_config = ConfigDict(extra="forbid")

    user_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    starts_at: InputDatetime | None = None
    ends_at: InputDatetime | None = None
    note: str | None = Field(default=None, max_length=200)


class SwapIn(BaseModel):
    """Two shifts whose people trade places."""

    model_config = ConfigDict(extra="forbid")

    first_shift_id: int = RowIdField
    second_shift_id: int = RowIdField


class TemplateIn(_Post):
    """Every week on `weekday` (1 = Monday … 7 = Sunday) from `start` to `end`, Beijing time, as HH:MM;
    an end at or before the start runs overnight."""

    weekday: int = Field(ge=1, le=7)
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="开始时间 HH:MM")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="结束时间 HH:MM")


class HolidayIn(BaseModel):
    """A date on which the weekly templates are not applied."""

    model_config = ConfigDict(extra="forbid")

    community_id: int = RowIdField
    day: InputDate
    name: str = Field(min_length=1, max_length=32)


class ApplyIn(BaseModel):
    """Produce the shifts of a community's templates for the dates from `start` to `end` inclusive."""

    model_config = ConfigDict(extra="forbid")

    community_id: int = RowIdField
    start: InputDate
    end: InputDate


class ShiftOut(Shown):
    """A shift as shown: who, as what, where, when, signed in or not."""

    id: int
    community_id: int
    user_id: int
    user_name: str
    duty_role: DutyRole
    duty_role_label: str
    place_kind: PlaceKind
    place_id: int | None
    place_name: str
    starts_at: datetime
    ends_at: datetime
    template_id: int | None
    note: str
    signed_in_at: datetime | None
    signed_out_at: datetime | None


class TemplateOut(Shown):
    """A weekly template as shown."""

    id: int
    community_id: int
    user_id: int
    user_name: str
    duty_role: DutyRole
    duty_role_label: str
    place_kind: PlaceKind
    place_id: int | None
    place_name: str
    weekday: int
    start: str
    end: str
    overnight: bool


class HolidayOut(BaseModel):
    """A holiday of a community."""

    id: int
    community_id: int
    day: date
    name: str


class ApplyOut(BaseModel):
    """What applying the templates did."""

    created: int
    already: int
    holidays: list[date]


class UpkeepOut(BaseModel):
    """What the platform's roster upkeep did for one community: shifts produced, or why none were."""

    community_id: int
    created: int
    refused: str | None


class GapOut(BaseModel):
    """A stretch of time in which nobody is on duty at a grid."""

    grid_id: int
    grid_name: str
    starts_at: datetime
    ends_at: datetime
    message: str


class PersonOut(BaseModel):
    """Someone who may stand duty in a community."""

    user_id: int
    name: str
    role: str
    role_label: str


class StartingShift(BaseModel):
    """A shift that has just begun, for the reminder its person gets."""

    shift_id: int
    community_id: int
    user_id: int
    duty_role: DutyRole
    place_kind: PlaceKind
    place_id: int | None
    place_name: str
    starts_at: datetime
    ends_at: datetime


class OnDuty(BaseModel):
    """One person on duty now at a place."""

    shift_id: int
    user_id: int
    user_name: str
    duty_role: DutyRole
    duty_role_label: str
    starts_at: datetime
    ends_at: datetime
    signed_in: bool


class PlaceNow(Shown):
    """A grid, gate or the community with the people on duty there now (empty: nobody)."""

    community_id: int
    place_kind: PlaceKind
    place_id: int | None
    place_name: str
    people: list[OnDuty]


class DutyNow(BaseModel):
    """Who is on duty at `at` at every place within reach."""

    at: datetime
    places: list[PlaceNow]


class Dispatch(BaseModel):
    """Whom a new case at a grid goes to: the grid worker (or 网格长) and the cadre on duty (None: nobody)."""

    worker: OnDuty | None
    cadre: OnDuty | None
