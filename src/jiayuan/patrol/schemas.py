"""What the patrol API takes and gives: a plan, a slot and its round, a camera looked at, a finding."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from jiayuan.cases.schemas import Category
from jiayuan.kernel.clock import InputAwareDatetime
from jiayuan.kernel.i18n import N_
from jiayuan.kernel.ids import RowIdInt
from jiayuan.patrol.schedule import parse_clock
from jiayuan.patrol.states import SlotState

Item = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
DeviceRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
# The bounds of a plan, checked with Chinese messages naming the field (`Refused`: a page shows them in its
# own language).
MIN_EVERY, MAX_EVERY = 15, 1440
MIN_GRACE = 5
MAX_CAMERAS, MAX_ITEMS, ITEM_LENGTH = 40, 12, 40


class Refused(ValueError):
    """A bound of a plan broken: a fixed text (marked `N_`) with `{name}` placeholders and their values, like
    a domain error, so that a page can say it in its own language; the API says the Chinese text."""

    def __init__(self, template: str, **params: object) -> None:
        super().__init__(template.format(**params))
        self.template = template
        self.params = params


class PlanCameraIn(BaseModel):
    """A camera of a plan and its checklist (what to look for, in order)."""

    model_config = ConfigDict(extra="forbid")

    device_id: DeviceRef
    checklist: list[str] = Field(description="检查项，如“门口无人逗留”，1 至 12 项，每项至多 40 字")

    @field_validator("checklist")
    @classmethod
    def _items(cls, value: list[str]) -> list[str]:
        items = [item.strip() for item in value]
        if not items:
            raise Refused(N_("检查项：每台摄像机至少要有一项"))
        if any(not item for item in items):
            raise Refused(N_("检查项：不能有空白的一项"))
        if any(len(item) > ITEM_LENGTH for item in items):
            raise Refused(N_("检查项：每项至多 {n} 字"), n=ITEM_LENGTH)
        if len(items) > MAX_ITEMS:
            raise Refused(N_("检查项：每台摄像机至多 {n} 项"), n=MAX_ITEMS)
        return list(dict.fromkeys(items))


def _every(value: int | None) -> int | None:
    if value is not None and not MIN_EVERY <= value <= MAX_EVERY:
        raise Refused(N_("巡查间隔须为 {least} 至 {most} 分钟"), least=MIN_EVERY, most=MAX_EVERY)
    return value


def _grace(value: int | None) -> int | None:
    if value is not None and not MIN_GRACE <= value <= MAX_EVERY:
        raise Refused(N_("完成时限须为 {least} 至 {most} 分钟"), least=MIN_GRACE, most=MAX_EVERY)
    return value


def _clock(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parse_clock(value)
    except ValueError:
        raise Refused(N_("时间须写成 HH:MM，如 20:00")) from None
    return value


def _name(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not 2 <= len(value) <= 64:
        raise Refused(N_("计划名称须为 2 至 64 字"))
    return value


def _cameras(value: list[PlanCameraIn] | None) -> list[PlanCameraIn] | None:
    if value is None:
        return None
    if not value:
        raise Refused(N_("请至少选择一台摄像机"))
    if len(value) > MAX_CAMERAS:
        raise Refused(N_("一个计划至多 {n} 台摄像机"), n=MAX_CAMERAS)
    ids = [c.device_id for c in value]
    if len(ids) != len(set(ids)):
        raise Refused(N_("同一摄像机不能在一个计划中出现两次"))
    return value


class PlanIn(BaseModel):
    """A new patrol plan."""

    model_config = ConfigDict(extra="forbid")

    community_id: RowIdInt
    name: str
    cameras: list[PlanCameraIn] = Field(description="按巡查顺序，1 至 40 台")
    every_minutes: int = Field(description="每隔多少分钟巡查一轮（15 至 1440）")
    window_start: str = Field(default="00:00", description="每天开始时间（北京时间），如 20:00")
    window_end: str = Field(default="00:00", description="每天结束时间；早于开始时间则跨午夜，相同为全天")
    grace_minutes: int | None = Field(default=None, description="一轮须在多久内完成（5 至 1440），默认为间隔")

    _check_name = field_validator("name")(_name)
    _check_cameras = field_validator("cameras")(_cameras)
    _check_every = field_validator("every_minutes")(_every)
    _check_grace = field_validator("grace_minutes")(_grace)
    _check_clock = field_validator("window_start", "window_end")(_clock)


class PlanChange(BaseModel):
    """What to change in a plan (what is left out stays); `active` pauses or resumes it."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    cameras: list[PlanCameraIn] | None = Field(default=None, description="按巡查顺序，整体替换")
    every_minutes: int | None = None
    window_start: str | None = None
    window_end: str | None = None
    grace_minutes: int | None = None
    active: bool | None = Field(default=None, description="false 暂停，true 恢复")

    _check_name = field_validator("name")(_name)
    _check_cameras = field_validator("cameras")(_cameras)
    _check_every = field_validator("every_minutes")(_every)
    _check_grace = field_validator("grace_minutes")(_grace)
    _check_clock = field_validator("window_start", "window_end")(_clock)


class CameraChoice(BaseModel):
    """A gate camera a planner may put into a plan."""

    device_id: str
    name: str
    gate_name: str | None
    community_id: int


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
    retired_at: datetime | None = None
    rounds: int = Field(default=0, description="已开始的巡查轮次")
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
