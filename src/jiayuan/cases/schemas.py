"""What the cases API takes and gives: categories, a new case, an action, a case with its history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from jiayuan.cases.attachments import MAX_PER_STEP, AttachmentKind
from jiayuan.cases.states import CaseAction, CaseState
from jiayuan.kernel.i18n import N_, Shown
from jiayuan.kernel.ids import MAX_ROW_ID
from jiayuan.kernel.paging import Page

RowIdList = Annotated[list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]], Field(max_length=MAX_PER_STEP)]
# A client names each report and action it sends (a UUID, say): sent again, it is taken once.
RequestId = Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class Category(StrEnum):
    """What a case is about: the gate and camera alarms, and residents' and workers' reports (诉求)."""

    SOS = "sos"
    ISOLATION = "isolation"
    TAILGATING = "tailgating"
    WATCHLIST = "watchlist"
    DOOR_FORCED = "door_forced"
    DEVICE_OFFLINE = "device_offline"
    LOITERING = "loitering"
    REPAIR = "repair"
    NOISE = "noise"
    SANITATION = "sanitation"
    SAFETY = "safety"
    NEIGHBOURS = "neighbours"
    OTHER = "other"

    @property
    def label(self) -> str:
        """一键报警 / 居家隔离 / … / 其他."""
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    Category.SOS: N_("一键报警"),
    Category.ISOLATION: N_("隔离人员出入"),
    Category.TAILGATING: N_("尾随通行"),
    Category.WATCHLIST: N_("布控车辆"),
    Category.DOOR_FORCED: N_("门被强行打开"),
    Category.DEVICE_OFFLINE: N_("设备离线"),
    Category.LOITERING: N_("夜间徘徊"),
    Category.REPAIR: N_("设施报修"),
    Category.NOISE: N_("噪音扰民"),
    Category.SANITATION: N_("环境卫生"),
    Category.SAFETY: N_("安全隐患"),
    Category.NEIGHBOURS: N_("邻里纠纷"),
    Category.OTHER: N_("其他"),
}


# The gate alarms (access.alarms types) and the category of the case each opens.
ALARM_CATEGORIES = {
    "sos": Category.SOS,
    "isolation_scan": Category.ISOLATION,
    "tailgating": Category.TAILGATING,
    "watchlist_plate": Category.WATCHLIST,
    "door_forced": Category.DOOR_FORCED,
    "device_offline": Category.DEVICE_OFFLINE,
    "loitering": Category.LOITERING,
}


class Source(StrEnum):
    """Who or what raised the case."""

    RESIDENT = "resident"
    STAFF = "staff"
    GRID = "grid"
    GATE = "gate"
    CAMERA = "camera"
    PATROL = "patrol"

    @property
    def label(self) -> str:
        """居民 / 工作人员 / 网格员 / 门岗 / 摄像机 / 视频巡查."""
        return SOURCE_LABELS[self]


SOURCE_LABELS = {
    Source.RESIDENT: N_("居民"),
    Source.STAFF: N_("工作人员"),
    Source.GRID: N_("网格员"),
    Source.GATE: N_("门岗"),
    Source.CAMERA: N_("摄像机"),
    Source.PATROL: N_("视频巡查"),
}


class CaseIn(BaseModel):
    """A new case: what, where (a household, or a community for places outside homes), and details."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: Category = Field(description="类别")
    title: str = Field(min_length=2, max_length=64, description="标题，如“3号楼 2单元楼道灯不亮”")
    description: str = Field(default="", max_length=1000, description="情况说明")
    household_id: int | None = Field(
        default=None, ge=1, le=MAX_ROW_ID, description="所在户（居民上报时为本户）"
    )
    community_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID, description="所在社区（不在某户时）")
    place: str = Field(default="", max_length=128, description="位置说明，如“南门岗亭旁”")
    attachment_ids: RowIdList = Field(default=[], description="先上传的照片、语音（至多 6 个）")
    request_id: RequestId | None = Field(
        default=None, description="客户端为这次上报取的编号；重发同一编号不会重复上报"
    )


@dataclass(frozen=True)
class AlarmCase:
    """A gate or camera alarm that opens a case: where it fired, what it says, its evidence."""

    alarm_id: int
    type: str
    community_id: int | None
    compound_id: int | None
    gate_id: int | None
    device_id: str | None
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    raised_at: datetime | None = None


class CaseFilter(BaseModel):
    """What the case board narrows to; every field left out narrows nothing. Read from a query string
    beside the page and size, so other parameters are left to their readers."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    state: CaseState | None = Field(default=None, description="只看某一状态")
    open_only: bool = Field(default=False, description="只看未结案的")
    category: Category | None = Field(default=None, description="只看某一类别")
    source: Source | None = Field(default=None, description="只看某一来源")
    grid_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID, description="只看某一网格")
    mine: bool = Field(default=False, description="只看派给我的")
    overdue: bool = Field(default=False, description="只看已超时的")
    text: str | None = Field(default=None, max_length=32, description="标题或位置包含")


class ActionIn(BaseModel):
    """One action on a case; 退回 needs the reason in `note`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: CaseAction
    note: str = Field(default="", max_length=500, description="说明；退回时必须写明理由")
    assignee_user_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID, description="派遣给谁（派遣时）")
    attachment_ids: RowIdList = Field(default=[], description="先上传的照片、语音（至多 6 个）")
    request_id: RequestId | None = Field(
        default=None, description="客户端为这次操作取的编号；重发同一编号只执行一次"
    )


class AssigneeOut(BaseModel):
    """Someone a case may be dispatched to."""

    user_id: int
    name: str
    role_label: str


class MergeIn(BaseModel):
    """A duplicate report closed into the case it repeats."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    into_case_id: int = Field(ge=1, le=MAX_ROW_ID, description="并入哪个事件")
    note: str = Field(default="", max_length=500, description="说明")


class AttachmentOut(BaseModel):
    """A stored photo or voice note; `url` reads it (within the case's reach, or the uploader's before
    it is given with a report or an action)."""

    id: int
    kind: AttachmentKind
    kind_label: str
    content_type: str
    size: int
    url: str


class StepOut(BaseModel):
    """One step of a case's history."""

    model_config = ConfigDict(from_attributes=True)

    action: CaseAction
    from_state: CaseState | None
    to_state: CaseState
    actor_name: str
    actor_role: str
    at: datetime
    note: str
    attachments: list[AttachmentOut] = []


# The reporter of a case the platform opened from an alarm: stored in Chinese, shown in the page's language.
PLATFORM_REPORTER = N_("平台")


class CaseOut(BaseModel):
    """A case as staff and the assigned worker see it; `reporter_name` is None for everyone else."""

    id: int
    category: Category
    category_label: str
    source: Source
    title: str
    description: str
    state: CaseState
    state_label: str
    level: int
    community_id: int
    compound_id: int | None
    household_id: int | None
    grid_id: int | None
    place: str
    gate_id: int | None = None
    device_id: str | None = None
    evidence: dict[str, Any] = {}
    reporter_name: str | None
    assignee_user_id: int | None
    cadre_user_id: int | None = Field(description="事件生成时在岗的值班干部")
    assignee_name: str | None = Field(default=None, description="处置人姓名（查看单个事件时给出）")
    cadre_name: str | None = Field(default=None, description="值班干部姓名（查看单个事件时给出）")
    reported_at: datetime
    closed_at: datetime | None
    due_at: datetime | None = None
    overdue: bool = False
    merged_into_id: int | None = Field(default=None, description="重复上报并入的事件")
    allowed: list[CaseAction]
    steps: list[StepOut] = []


class CasePage(Page[CaseOut]):
    """A page of the case board; `total_exact` is false when more than `total` cases match (counting
    stops there, so a large board answers as fast as a small one)."""

    total_exact: bool = True


class DeadlineOut(BaseModel):
    """One time limit as a community applies it."""

    category: Category
    category_label: str
    step: CaseAction
    step_label: str
    minutes: int
    default_minutes: int


class DeadlineIn(BaseModel):
    """A community's own limit for one step of one category (1 minute to 30 days)."""

    model_config = ConfigDict(extra="forbid")

    category: Category
    step: CaseAction
    minutes: int = Field(ge=1, le=30 * 24 * 60, description="时限（分钟）")


class SharePurpose(StrEnum):
    """Why a case is shared outside the office; the purpose is stated and kept with the share."""

    INVESTIGATE = "investigate"
    REPAIR = "repair"
    SECURITY = "security"
    MEDIATE = "mediate"

    @property
    def label(self) -> str:
        """协查 / 维修 / 安保 / 调解."""
        return SHARE_PURPOSE_LABELS[self]


SHARE_PURPOSE_LABELS = {
    SharePurpose.INVESTIGATE: N_("协查"),
    SharePurpose.REPAIR: N_("维修"),
    SharePurpose.SECURITY: N_("安保"),
    SharePurpose.MEDIATE: N_("调解"),
}


class ShareIn(BaseModel):
    """Share a case with one police or property account of its community, for a purpose."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    user_id: int = Field(ge=1, le=MAX_ROW_ID, description="民警或物业的账号编号")
    purpose: SharePurpose = Field(description="用途：协查、维修、安保、调解")
    note: str = Field(default="", max_length=200, description="说明，如“请调取南门监控”")


class ShareOut(BaseModel):
    """One share of a case: with whom, why, by whom, and whether it was revoked."""

    id: int
    case_id: int
    user_id: int
    user_name: str
    purpose: SharePurpose
    purpose_label: str
    note: str
    shared_by_name: str
    shared_at: datetime
    revoked_at: datetime | None
    revoked_by_name: str | None
    active: bool


class Open311Service(BaseModel):
    """One service of the GeoReport v2 `services.json`: a category of ours."""

    service_code: str
    service_name: str
    description: str
    metadata: bool = False
    type: str = "realtime"
    keywords: str
    group: str


class Open311Request(BaseModel):
    """One service request as GeoReport v2 gives it; never who reported it."""

    service_request_id: str
    status: str = Field(description="open 或 closed")
    status_notes: str
    service_name: str
    service_code: str
    description: str
    agency_responsible: str
    service_notice: str = ""
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None
    address: str
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None


class Open311Created(BaseModel):
    """What a GeoReport v2 create answers."""

    service_request_id: str
    service_notice: str
    account_id: str | None = None


class Open311RequestIn(BaseModel):
    """A GeoReport v2 create, as its form fields (strings; the service parses and names bad ones)."""

    service_code: str = ""
    jurisdiction_id: str = ""
    lat: str = ""
    long: str = ""
    address_string: str = ""
    address_id: str = ""
    description: str = ""
    media_url: str = ""


class Open311Filter(BaseModel):
    """The GeoReport v2 list filters, as sent (the service parses and names bad ones)."""

    service_request_id: str = ""
    service_code: str = ""
    start_date: str = ""
    end_date: str = ""
    status: str = ""


class Durations(BaseModel):
    """How long cases took from report to one step: how many got there, median and 90th percentile."""

    count: int
    median_minutes: float | None
    p90_minutes: float | None


class CountRow(Shown):
    """Cases of one grid, worker or category over the period; a label the platform words is built."""

    key: str
    label: str
    total: int
    open: int
    closed: int
    overdue: int


class RoundCounts(BaseModel):
    """Video patrol rounds over the period (from the patrol domain): due slots, done, missed, findings."""

    slots: int
    done: int
    missed: int
    findings: int


class CaseStats(BaseModel):
    """Statistics of the cases reported in a period, within the actor's reach (Beijing dates)."""

    since: datetime
    until: datetime
    period_label: str
    total: int
    open: int
    closed: int
    overdue: int = Field(description="未结案且已过时限")
    escalated: int = Field(description="曾经升级")
    to_accept: Durations
    to_arrive: Durations
    to_close: Durations
    by_grid: list[CountRow]
    by_worker: list[CountRow]
    by_category: list[CountRow]
    patrol: RoundCounts | None = Field(default=None, description="视频巡查（无权查看巡查时为空）")


@dataclass(frozen=True)
class AttachmentFile:
    """A stored photo or voice note as it is sent to a browser."""

    content_type: str
    data: bytes
