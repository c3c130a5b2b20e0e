"""What the patrol API takes and gives: a plan, a slot and its round, a camera looked at, a finding."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from jiayuan.cases.schemas import Category
from jiayuan.kernel.clock import InputAwareDatetime
from jiayuan.kernel.ids import RowIdInt
from jiayuan.patrol.schedule import parse_clock
from jiayuan.patrol.states import SlotState

Item = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
DeviceRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class PlanCameraIn(BaseModel):
    """A camera of a new plan and its checklist (what to look for, in order)."""

    model_config = ConfigDict(extra="forbid")

    device_id: DeviceRef
    checklist: list[Item] = Field(min_length=1, max_length=12, description="检查项，如“门口无人逗留”")


class PlanIn(BaseModel):
    """A new patrol plan."""

    model_config = ConfigDict(extra="forbid")

    community_id: RowIdInt
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=64)]
    cameras: list[PlanCameraIn] = Field(min_length=1, max_length=40)
    every_minutes: int = Field(ge=15, le=1440, description="每隔多少分钟巡查一轮")
    window_start: str = Field(default="00:00", description="每天开始时间（北京时间），如 20:00")
    window_end: str = Field(default="00:00", description="每天结束时间；早于开始时间则跨午夜，相同为全天")
    grace_minutes: int | None = Field(
        default=None, ge=5, le=1440, description="一轮须在多久内完成，默认为间隔"
    )

    @field_validator("window_start", "window_end")
    @classmethod
    def _clock(cls, value: str) -> str:
        try:
            parse_clock(value)
        except ValueError:
            raise ValueError("时间须写成 HH:MM，如 20:00") from None
        return value

    @field_validator("cameras")
    @classmethod
    def _distinct(cls, value: list[PlanCameraIn]) -> list[PlanCameraIn]:
        ids = [c.device_id for c in value]
        if len(ids) != len(set(ids)):
            raise ValueError("同一摄像机不能在一个计划中出现两次")
        return value


class PlanCameraOut(BaseModel):
    """A camera of a plan."""

    device_id: str
    name: str
    gate_name: str | None
    checklist: list[str]


class PlanOut(BaseModel):
    """A patrol plan as shown."""

    id: int
    community_id: int
    name: str
    every_minutes: int
    window_start: str
    window_end: str
    grace_minutes: int
    active: bool
    cameras: list[PlanCameraOut]


class SlotOut(BaseModel):
    """A slot of a plan's schedule and its round, if one was made."""

    plan_id: int
    slot: datetime
    state: SlotState
    state_label: str
    round_id: int | None = None
    by_name: str | None = None
    finished_at: datetime | None = None


class StartIn(BaseModel):
    """Begin the round of a slot (one of the plan's slots, while it is due)."""

    model_config = ConfigDict(extra="forbid")

    plan_id: RowIdInt
    slot: InputAwareDatetime


class FindingIn(BaseModel):
    """Something seen on a camera that needs a person: it opens a case."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: Category = Category.SAFETY
    title: str = Field(min_length=2, max_length=64, description="发现了什么，如“北门有人翻越围墙”")
    description: str = Field(default="", max_length=1000)


class CheckIn(BaseModel):
    """One camera looked at: an answer for every checklist item (true: as it should be), a note, and a
    finding when something is wrong."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    device_id: DeviceRef
    answers: dict[Item, bool]
    note: str = Field(default="", max_length=500)
    finding: FindingIn | None = None


class CheckOut(BaseModel):
    """A camera looked at in a round."""

    model_config = ConfigDict(from_attributes=True)

    device_id: str
    looked_at: datetime
    answers: dict[str, bool]
    note: str
    snapshot_id: str | None
    case_id: int | None


class RoundOut(BaseModel):
    """A round with what was looked at so far."""

    id: int
    plan_id: int
    slot: datetime
    state: str
    by_name: str
    started_at: datetime
    finished_at: datetime | None
    checks: list[CheckOut]
    to_check: list[str] = Field(description="还没看的摄像机")


class PatrolTally(BaseModel):
    """Rounds of a community's plans over a period: how many slots there were, done, missed."""

    slots: int
    done: int
    missed: int
    findings: int
