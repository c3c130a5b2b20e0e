"""Input and output shapes of the access domain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from jiayuan.access.states import ReviewState, VisitorState
from jiayuan.kernel.clock import InputAwareDatetime, InputDate
from jiayuan.kernel.i18n import N_
from jiayuan.kernel.ids import MAX_ROW_ID, RowIdInt
from jiayuan.registry.service.directory import DeviceInfo, GateInfo

# A home isolation is recorded for a stated period and renewed if it goes on, never open-ended.
MAX_ISOLATION = timedelta(days=30)
MAX_VISITOR_WINDOW = timedelta(days=7)


class VisitorInvite(BaseModel):
    """A household invites a visitor: who, when, how many entries."""

    model_config = ConfigDict(extra="forbid")

    household_id: RowIdInt
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=20)]
    plate: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] | None = None
    valid_from: InputAwareDatetime
    valid_until: InputAwareDatetime
    entries: int = Field(default=1, ge=1, le=20)

    @model_validator(mode="after")
    def _window(self) -> VisitorInvite:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until 必须晚于 valid_from")
        if self.valid_until - self.valid_from > MAX_VISITOR_WINDOW:
            raise ValueError("访客时段最长 7 天")
        return self


class VisitorOut(BaseModel):
    """A visitor pass as shown to the household, the gate and the office (phone masked, plate shown)."""

    id: int
    household_id: int
    household: str
    compound_id: int
    compound: str
    name: str
    phone_masked: str
    plate: str | None
    valid_from: AwareDatetime
    valid_until: AwareDatetime
    entries_allowed: int
    entries_used: int
    status: VisitorState
    status_label: str
    revoked: bool
    revoked_at: AwareDatetime | None
    invited_by: str | None
    created_at: AwareDatetime
    token: str | None = None


class VisitorFilter(BaseModel):
    """Which visitor passes to list: by compound, household, state, or the local day they are valid on."""

    model_config = ConfigDict(extra="forbid")

    compound_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    household_id: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    status: VisitorState | None = None
    on: InputDate | None = None


class VisitorCancel(BaseModel):
    """Why a visitor pass is cancelled (optional; the audit log keeps it)."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class IssuedPass(BaseModel):
    """A freshly signed e-pass."""

    token: str
    expires_at: AwareDatetime
    kind: Literal["r", "v"]


class VerifyRequest(BaseModel):
    """A token scanned at a gate, checked by staff or a device over the API."""

    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
    gate: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    direction: Literal["in", "out"] = "in"


class CheckOut(BaseModel):
    """The platform's decision on a pass."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: AwareDatetime
    gate_id: int
    direction: str
    kind: str | None
    decision: str
    reason: str


class PublicKeyOut(BaseModel):
    """One pass-verification key (same shape as the `keys` command)."""

    kid: str
    ed25519: str


class RevocationsOut(BaseModel):
    """The revocation list (same shape as the `revocations` command)."""

    version: int
    revoked: list[str]


class IsolationIn(BaseModel):
    """A home isolation record: only with the person's recorded consent and an end date."""

    model_config = ConfigDict(extra="forbid")

    person_id: RowIdInt
    starts_at: InputAwareDatetime
    ends_at: InputAwareDatetime
    purpose: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    consent_recorded: bool

    @model_validator(mode="after")
    def _checks(self) -> IsolationIn:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at 必须晚于 starts_at")
        if self.ends_at - self.starts_at > MAX_ISOLATION:
            raise ValueError(f"居家隔离一次最长登记 {MAX_ISOLATION.days} 天（ends_at），到期请续登记")
        if not self.consent_recorded:
            raise ValueError("须记录本人同意（consent_recorded）")
        return self


class IsolationOut(BaseModel):
    """A stored home isolation record."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: int
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class RevocationOut(BaseModel):
    """One entry of the revocation list."""

    model_config = ConfigDict(from_attributes=True)

    ref: str
    reason: str
    revoked_at: AwareDatetime


class RevokeIn(BaseModel):
    """Put a person (`p:ID`), a visitor pass (`v:ID`) or one pass nonce on the revocation list."""

    model_config = ConfigDict(extra="forbid")

    ref: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^(p:\d{1,12}|v:\d{1,12}|[0-9a-f]{16})$")
    ]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]


class GateDeviceOut(BaseModel):
    """A device at a gate."""

    id: str
    kind: str
    name: str
    enabled: bool


class GateOut(BaseModel):
    """A gate with its compound and devices."""

    id: int
    code: str
    name: str
    compound_id: int
    compound_name: str
    community_id: int
    devices: list[GateDeviceOut]


class FlowBucketOut(BaseModel):
    """One 5-minute bucket of one gate (or of a compound when summed)."""

    model_config = ConfigDict(from_attributes=True)

    bucket: AwareDatetime
    people_in: int
    people_out: int
    camera_in: int
    camera_out: int
    vehicles_in: int
    vehicles_out: int
    outside_in: int
    outside_out: int
    refused: int


class FlowOut(BaseModel):
    """Flow of a gate or compound since a moment, with outside vehicles present now."""

    gate_id: int | None = None
    compound_id: int
    since: AwareDatetime
    buckets: list[FlowBucketOut]
    totals: FlowBucketOut
    outside_present: int
    marks: dict[AwareDatetime, dict[int, int]] = Field(
        description="每个桶里各出入口读取时的修订号 {桶: {出入口: 修订号}}：revision 不大于它的实时"
        " access.flow 事件已计入上面的数字 (per bucket, each gate's revision when read: live access.flow"
        " events whose revision is at most it are already in these numbers)"
    )


class DailySummary(BaseModel):
    """A compound's day: totals, peak bucket, alarms, overnight outside vehicles."""

    compound_id: int
    day: str
    totals: FlowBucketOut
    peak_in_bucket: AwareDatetime | None
    peak_in: int
    alarms: dict[str, int]
    refused: dict[str, int]


class PresenceOut(BaseModel):
    """A vehicle inside a compound."""

    model_config = ConfigDict(from_attributes=True)

    plate: str
    compound_id: int
    category: str
    entered_at: AwareDatetime | None
    entered_gate_id: int | None
    dwell_s: int | None = None


class WatchPlateOut(BaseModel):
    """A plate on a community's watch list."""

    model_config = ConfigDict(from_attributes=True)

    community_id: int
    plate: str
    reason: str
    added_at: AwareDatetime


class WatchPlateIn(BaseModel):
    """Put a plate on a community's watch list."""

    model_config = ConfigDict(extra="forbid")

    community_id: RowIdInt
    plate: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=16)]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]


PlateColor = Literal["blue", "yellow", "green", "white", "black"]


class UnreadPlateOut(BaseModel):
    """An unread plate (待辨认车牌): where and when, what the device read, and what became of it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: AwareDatetime
    gate_id: int
    compound_id: int
    community_id: int
    device_id: str
    event_type: str
    text_raw: str | None
    color: str | None
    confidence: float | None
    direction: str | None
    snapshot: str | None
    state: ReviewState
    plate: str | None
    passage_id: int | None
    reviewed_at: AwareDatetime | None
    reviewed_by: str | None
    gate_name: str = ""
    compound_name: str = ""


class PlateReading(BaseModel):
    """What a person read on an unread plate's snapshot: the plate, its colour and the direction."""

    model_config = ConfigDict(extra="forbid")

    plate: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
    color: PlateColor
    direction: Literal["in", "out"]


class PlateDismissal(BaseModel):
    """Mark an unread plate 无车牌/无法辨认, with an optional note."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class AlarmOut(BaseModel):
    """A gate alarm."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    type: str
    state: str
    community_id: int | None
    compound_id: int | None
    gate_id: int | None
    device_id: str | None
    raised_at: AwareDatetime
    cleared_at: AwareDatetime | None
    summary: str
    evidence: dict[str, object]


# Chinese words of the codes the gates report, for the console (the API keeps the codes).
CATEGORY_LABELS = {"resident": N_("业主"), "visitor": N_("登记访客"), "outside": N_("外来")}
REASON_LABELS = {
    "ok": N_("通过"),
    "expired": N_("通行码已过期"),
    "bad_signature": N_("通行码无效（签名不符）"),
    "replayed": N_("通行码重复使用"),
    "wrong_compound": N_("非本小区通行码"),
    "revoked": N_("通行码已吊销"),
    "isolation": N_("居家隔离期间"),
    "visitor_window": N_("不在访客有效时段"),
    "visitor_used_up": N_("访客次数已用完"),
}
PASS_KIND_LABELS = {"r": N_("居民码"), "v": N_("访客码")}
ALARM_LABELS = {
    "device_offline": N_("设备离线"),
    "isolation_scan": N_("隔离人员扫码"),
    "watchlist_plate": N_("布控车辆"),
    "tailgating": N_("疑似尾随"),
    "sos": N_("一键报警"),
    "door_forced": N_("门被强行打开"),
    "loitering": N_("夜间逗留"),
}
DEVICE_STATE_LABELS = {
    "online": N_("上线"),
    "offline": N_("下线"),
    "silent": N_("超过 2 分钟无消息"),
    "back": N_("恢复"),
}
DIRECTION_LABELS = {"in": N_("进"), "out": N_("出")}


class GateBrief(BaseModel):
    """A gate's name and compound, for labelling a flow view."""

    id: int
    name: str
    compound_id: int
    compound_name: str


class FlowToday(BaseModel):
    """A gate's or compound's day so far: what the duty page shows before the live stream takes over."""

    compound_id: int
    compound_name: str
    gate_id: int | None
    day_start: AwareDatetime = Field(description="北京时间零点；桶序号 = (bucket − day_start) / 5 分钟")
    as_of: AwareDatetime = Field(description="读取时刻；此后的实时事件不在本结果中")
    gates: list[GateBrief] = Field(description="该小区的全部出入口")
    flow: FlowOut
    overnight: list[PresenceOut] = Field(description="过夜仍在小区内的外来车辆")
    feed: list[dict[str, Any]] = Field(
        description="最近的通行记录（新的在前），与实时推送的 access.vehicle_seen、access.pass_checked 同形"
    )
    alarms: list[dict[str, Any]] = Field(description="未解除的告警（新的在前），与 access.alarm_raised 同形")


@dataclass(frozen=True)
class GateRef:
    """A gate with its compound and community."""

    id: int
    name: str
    compound_id: int
    community_id: int

    @classmethod
    def of_gate(cls, gate: GateInfo) -> GateRef:
        """From a registry gate."""
        return cls(gate.id, gate.name, gate.compound_id, gate.community_id)

    @classmethod
    def of_device(cls, device: DeviceInfo) -> GateRef | None:
        """The gate a device stands at, if it stands at one."""
        if device.gate_id is None or device.compound_id is None or device.community_id is None:
            return None
        return cls(device.gate_id, device.gate_name or "", device.compound_id, device.community_id)
