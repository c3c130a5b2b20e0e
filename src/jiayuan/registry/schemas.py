"""Input and output shapes of the registry: residents in (validated), residents out (masked)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from jiayuan.kernel.clock import LOCAL_TZ, InputDate, utcnow
from jiayuan.kernel.errors import Invalid
from jiayuan.kernel.i18n import N_, Label, Shown, check_failed, check_of
from jiayuan.kernel.ids import MAX_ROW_ID
from jiayuan.kernel.paging import Page
from jiayuan.registry.names import normalise_name
from jiayuan.registry.validation import birth_date_of, gender_of, validate_id_number, validate_phone


class Gender(StrEnum):
    """性别, as the ID number encodes it."""

    MALE = N_("男")
    FEMALE = N_("女")


class ResidenceType(StrEnum):
    """居住类型."""

    REGISTERED = N_("户籍")
    PERMANENT = N_("常住")
    RENTING = N_("租住")
    FLOATING = N_("流动")


class Relation(StrEnum):
    """与户主关系."""

    HEAD = N_("户主")
    SPOUSE = N_("配偶")
    CHILD = N_("子女")
    PARENT = N_("父母")
    GRANDPARENT = N_("祖父母")
    GRANDCHILD = N_("孙子女")
    SIBLING = N_("兄弟姐妹")
    DAUGHTER_IN_LAW = N_("儿媳")
    SON_IN_LAW = N_("女婿")
    RELATIVE = N_("其他亲属")
    TENANT = N_("租户")
    OTHER = N_("其他")


class Tag(StrEnum):
    """关注标签: the fixed vocabulary of care and attention tags."""

    ALONE_ELDERLY = N_("独居老人")
    EMPTY_NEST = N_("空巢老人")
    OLDEST_OLD = N_("高龄")
    DISABLED = N_("残疾")
    SUBSISTENCE = N_("低保")
    EXTREME_POVERTY = N_("特困")
    VETERAN = N_("退役军人")
    ENTITLED = N_("优抚对象")
    PARTY_MEMBER = N_("党员")
    LEFT_BEHIND_CHILD = N_("留守儿童")
    PREGNANT = N_("孕产妇")
    ATTENTION = N_("重点关注")


class RevealField(StrEnum):
    """Fields whose full value may be revealed with a reason."""

    ID_NUMBER = "id_number"
    PHONE = "phone"


# Row ids are 32-bit integers in storage; larger numbers can name nothing.
MAX_ID = MAX_ROW_ID
NAME_MAX = 32
NOTE_MAX = 255
REASON_MIN = 4
REASON_MAX = 200


def _invalid(message: str, /, **params: object) -> PydanticCustomError:
    return check_failed(message, **params)


def _today() -> date:
    return utcnow().astimezone(LOCAL_TZ).date()


def printable(value: str, label: str) -> str:
    """Refuse control characters (they break storage and display); `label` names the field (marked `N_`)."""
    if not value.isprintable():
        raise _invalid(N_("{label}包含不可见的控制字符"), label=Label(label))
    return value


def clean_name(raw: str) -> str:
    """A person's name without blanks and with one form of middle dot; 1–32 characters, no digits."""
    name = printable(normalise_name(raw), N_("姓名"))
    if not name:
        raise _invalid(N_("姓名不能为空"))
    if len(name) > NAME_MAX:
        raise _invalid(N_("姓名最多 {max} 个字"), max=NAME_MAX)
    if any(ch.isdigit() or ch in "<>&\"'%_\\" for ch in name):
        raise _invalid(N_("姓名不能包含数字或特殊符号"))
    return name


class ResidentIn(BaseModel):
    """A resident as entered by staff, the API or an Excel row; every rule checked here."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: str = Field(description="姓名", examples=["刘莹"])
    id_number: str = Field(description="身份证号（18 位）", examples=["11010519491231002X"])
    gender: Gender = Field(description="性别，须与身份证号一致")
    birth_date: InputDate = Field(description="出生日期，须与身份证号一致")
    phone: str | None = Field(default=None, description="手机号或带区号的固话")
    relation: Relation = Field(default=Relation.HEAD, description="与户主关系")
    residence_type: ResidenceType = Field(default=ResidenceType.REGISTERED, description="居住类型")
    tags: list[Tag] = Field(default_factory=list, max_length=len(Tag), description="关注标签")
    moved_in_on: InputDate | None = Field(default=None, description="迁入日期")
    moved_out_on: InputDate | None = Field(default=None, description="迁出日期")
    note: str = Field(default="", description="备注")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return clean_name(value)

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str) -> str:
        try:
            return validate_id_number(value)
        except Invalid as exc:
            raise _invalid(exc.template, **exc.params) from None

    @field_validator("gender")
    @classmethod
    def _gender_matches(cls, value: Gender, info: ValidationInfo) -> Gender:
        id_number = info.data.get("id_number")
        if id_number and gender_of(id_number) != value:
            raise _invalid(
                N_("性别与身份证号不符（身份证号显示为{gender}）"), gender=Label(gender_of(id_number))
            )
        return value

    @field_validator("birth_date")
    @classmethod
    def _birth_matches(cls, value: date, info: ValidationInfo) -> date:
        id_number = info.data.get("id_number")
        if id_number and birth_date_of(id_number) != value:
            shown = f"{birth_date_of(id_number):%Y-%m-%d}"
            raise _invalid(N_("出生日期与身份证号不符（身份证号显示为 {date}）"), date=shown)
        return value

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: Any) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise _invalid(N_("手机号应为文本"))
        try:
            return validate_phone(value)
        except Invalid as exc:
            raise _invalid(exc.template, **exc.params) from None

    @field_validator("tags", mode="after")
    @classmethod
    def _unique_tags(cls, value: list[Tag]) -> list[Tag]:
        return sorted(set(value), key=list(Tag).index)

    @field_validator("moved_in_on", "moved_out_on")
    @classmethod
    def _not_future(cls, value: date | None) -> date | None:
        if value is not None and value > _today():
            raise _invalid(N_("日期不能晚于今天"))
        return value

    @field_validator("note")
    @classmethod
    def _note(cls, value: str) -> str:
        if len(value) > NOTE_MAX:
            raise _invalid(N_("备注最多 {max} 个字"), max=NOTE_MAX)
        return printable(value, N_("备注"))

    @model_validator(mode="after")
    def _dates_in_order(self) -> ResidentIn:
        if self.moved_in_on and self.moved_out_on and self.moved_out_on < self.moved_in_on:
            raise _invalid(N_("迁出日期不能早于迁入日期"))
        return self


class ResidentPatch(BaseModel):
    """A partial change to a resident; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    household_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="迁往的户")
    name: str | None = None
    id_number: str | None = None
    gender: Gender | None = None
    birth_date: InputDate | None = None
    phone: str | None = None
    relation: Relation | None = None
    residence_type: ResidenceType | None = None
    tags: list[Tag] | None = None
    moved_in_on: InputDate | None = None
    moved_out_on: InputDate | None = None
    note: str | None = None


def parse_patch(merged: dict[str, Any]) -> ResidentIn:
    """Validate a stored record with changes applied; Invalid names the first bad field."""
    try:
        return ResidentIn.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "resident"
        message, params = check_of(first)
        raise Invalid(message, field=field, **params) from None


class ResidentCreate(ResidentIn):
    """A new resident for the API: the household and the person."""

    household_id: int = Field(ge=1, le=MAX_ID, description="所在户的编号")


class Address(BaseModel):
    """Where a household lives, from community down to room."""

    community_id: int
    community: str
    compound_id: int
    compound: str
    building_id: int
    building: str
    unit_id: int
    unit: str
    household_id: int
    room: str

    @property
    def label(self) -> str:
        """`锦江花园 3号楼 2单元 301`."""
        return f"{self.compound} {self.building} {self.unit} {self.room}"

    @property
    def place(self) -> Place:
        """The community, compound and building (the parts stored on each resident)."""
        return Place(
            community_id=self.community_id, compound_id=self.compound_id, building_id=self.building_id
        )


@dataclass(frozen=True)
class Place:
    """The community, compound and building of a household, as stored on its residents."""

    community_id: int
    compound_id: int
    building_id: int


class ResidentOut(BaseModel):
    """A resident as shown: ID number and phone masked; the day of birth only to roles that may reveal
    (with it, the masked ID number would leave too few candidates: docs/privacy.md)."""

    id: int
    household_id: int
    name: str
    gender: Gender
    birth_date: date | None = Field(description="出生日期；只对可查看完整号码的角色给出，其他角色为空")
    birth_year: int
    age: int = Field(description="年龄；age_this_year 为真时是今年满的岁数（看不出今年生日过没过）")
    age_this_year: bool = False
    id_number_masked: str
    phone_masked: str | None
    relation: str
    residence_type: str
    tags: list[str]
    moved_in_on: date | None
    moved_out_on: date | None
    note: str
    address: Address
    moved_out: bool


class ResidentPage(Page[ResidentOut]):
    """A page of search results; `total_exact` is false when there were more than `total`."""

    total_exact: bool = True


class RevealIn(BaseModel):
    """A request to see one full value, with the reason that justifies it."""

    field: RevealField
    reason: Annotated[str, Field(description=f"查看理由（至少 {REASON_MIN} 个字）")]

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        value = value.strip()
        if len(value) < REASON_MIN:
            raise _invalid(N_("请填写查看理由（至少 {min} 个字）"), min=REASON_MIN)
        if len(value) > REASON_MAX:
            raise _invalid(N_("查看理由最多 {max} 个字"), max=REASON_MAX)
        return printable(value, N_("查看理由"))


class RevealOut(BaseModel):
    """The full value of one field, returned once and audited."""

    resident_id: int
    field: RevealField
    value: str | None


def age_on(birth: date, day: date) -> int:
    """Whole years between a birth date and a day."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def today() -> date:
    """Today's date in the community's time zone."""
    return _today()


class CommunityOut(BaseModel):
    """社区."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    street_id: int


class CompoundOut(BaseModel):
    """小区/楼院."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    community_id: int
    name: str
    code: str
    address: str


class BuildingOut(BaseModel):
    """楼栋."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    compound_id: int
    name: str
    floors: int


class UnitOut(BaseModel):
    """单元."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    building_id: int
    name: str


# How people name a plate's colour (the stored value is the code the cameras report).
PLATE_COLOR_LABELS = {
    "blue": N_("蓝牌"),
    "yellow": N_("黄牌"),
    "green": N_("绿牌"),
    "white": N_("白牌"),
    "black": N_("黑牌"),
}


class VehicleOut(BaseModel):
    """A resident vehicle and where it belongs."""

    id: int
    plate: str
    color: str
    model: str
    household_id: int
    owner_id: int | None
    address: Address


class HouseholdOut(BaseModel):
    """户: its address, members (masked) and vehicles."""

    id: int
    unit_id: int
    room: str
    address: Address
    member_count: int
    members: list[ResidentOut] = Field(default_factory=list)
    vehicles: list[VehicleOut] = Field(default_factory=list)


class GridOut(BaseModel):
    """网格 and the buildings it covers."""

    id: int
    community_id: int
    name: str
    worker_user_id: int | None
    building_ids: list[int]


class ShopOut(BaseModel):
    """商铺 on a commercial street; the operator's phone only as its last four digits."""

    id: int
    street: str
    section: str
    number: str
    name: str
    business: str
    operator_name: str
    operator_phone_masked: str | None


class FieldChange(BaseModel):
    """One column of one row that an import changes (phones masked)."""

    column: str
    old: str
    new: str


class RowPlan(BaseModel):
    """What an import does with one row: a new resident, or the columns it changes on a stored one."""

    sheet: str
    row: int
    name: str
    action: Literal["新增", "更新"]
    changes: list[FieldChange] = []


class ImportReport(Shown):
    """What an import did (`written`), or would do after a check: counts, every row it changes (old →
    new), the first 100 rows it adds, and what in the file it will not read (unknown columns, sheets
    without the resident header)."""

    written: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    households_created: int
    plans: list[RowPlan]
    notices: list[str]  # built (`Shown.built`): a page shows them in its language


class Counts(BaseModel):
    """How many of each registry level."""

    compounds: int = 0
    buildings: int = 0
    units: int = 0
    households: int = 0
    residents: int = 0
    vehicles: int = 0
    shops: int = 0

    def add(self, other: Counts) -> Counts:
        """The sum of two counts."""
        return Counts(**{name: getattr(self, name) + getattr(other, name) for name in _COUNTED})


_COUNTED = tuple(Counts.model_fields)


class _Place(BaseModel):
    id: int
    name: str
    street: str


class CommunityCounts(Counts, _Place):
    """The counts of one community (its id, name and street first)."""


class RegistryStats(BaseModel):
    """Counts per community and in total; residents who have moved out are not counted."""

    communities: list[CommunityCounts]
    total: Counts
