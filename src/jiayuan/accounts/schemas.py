"""Input and output shapes of the accounts domain."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jiayuan.kernel.clock import LAST_YEAR, LOCAL_TZ, InputDatetime, aware
from jiayuan.kernel.errors import Invalid
from jiayuan.kernel.i18n import N_, NC_
from jiayuan.kernel.numbers import row_id
from jiayuan.kernel.paging import PageParams
from jiayuan.kernel.principal import ROLE_LABELS, Principal, Role

USERNAME_PATTERN = r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,64}$"
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ScopeKind(StrEnum):
    """What a scope id refers to in the registry."""

    COMMUNITY = "community"
    COMPOUND = "compound"
    GRID = "grid"
    HOUSEHOLD = "household"
    PERSON = "person"


# Roles a person can hold; the system role is the platform itself and never a user.
USER_ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.SYSTEM)


def parse_scope(text: str) -> tuple[ScopeKind, int]:
    """`grid:3` → (ScopeKind.GRID, 3); a clear message names what is wrong."""
    kind, sep, ref = text.strip().partition(":")
    kinds = "/".join(k.value for k in ScopeKind)
    if not sep or kind not in {k.value for k in ScopeKind}:
        raise Invalid(
            "范围格式应为 类型:编号，类型为 {kinds}（收到 {text!r}）", field="scopes", kinds=kinds, text=text
        )
    ref_id = row_id(ref)
    if ref_id is None:
        raise Invalid("范围编号必须是正整数（收到 {text!r}）", field="scopes", text=text)
    return ScopeKind(kind), ref_id


@dataclass(frozen=True)
class LoginPolicy:
    """How failed logins are slowed and locked, and how long a session lasts (from settings)."""

    slowdown_after: int = 3
    lock_after: int = 8
    lock_minutes: int = 15
    address_lock_after: int = 30
    account_slowdown_after: int = 20
    session_hours: int = 12


@dataclass(frozen=True)
class SessionTicket:
    """What the browser gets for a new session: the cookie value and the form token."""

    cookie: str
    csrf_token: str
    expires_at: datetime


class UserCreate(BaseModel):
    """A new user as an admin enters it."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME_PATTERN, description="登录名：字母、数字、汉字、_.-，2–64 位")
    display_name: str = Field(default="", max_length=64)
    role: Role
    password: str | None = Field(
        default=None, max_length=256, description="至少 8 位，不能与用户名相同或过于常见"
    )
    scopes: list[str] = Field(default_factory=list, max_length=50, description="如 community:1、grid:3")

    @field_validator("role")
    @classmethod
    def _not_system(cls, role: Role) -> Role:
        if role is Role.SYSTEM:
            raise ValueError("system 不是可分配的角色")
        return role


class MobileIn(BaseModel):
    """A person's own mobile for their notices; empty clears it."""

    model_config = ConfigDict(extra="forbid")

    mobile: str = Field(max_length=20, description="11 位手机号；留空则清除")


class UserOut(BaseModel):
    """A user as lists and the API show it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: str
    is_active: bool
    scopes: list[str]
    last_login_at: datetime | None
    created_at: datetime
    mobile_masked: str = Field(default="", description="手机号（遮蔽），用于本人的派遣、升级和上岗提醒短信")

    @field_validator("scopes", mode="before")
    @classmethod
    def _scope_text(cls, value: Any) -> Any:
        return [s if isinstance(s, str) else f"{s.kind}:{s.ref_id}" for s in value]


class LoginRequest(BaseModel):
    """Username and password for a bearer token."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenCreate(BaseModel):
    """A new bearer token for a user or a device."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    user_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    device_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
    expires_at: InputDatetime | None = Field(
        default=None, description="用户令牌的到期时间；不填或超过上限时按上限（JIAYUAN_API_TOKEN_MAX_DAYS）"
    )

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return aware(value) if value is not None else None


class PasswordChange(BaseModel):
    """A user changing their own password."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class PasswordReset(BaseModel):
    """An admin setting a new password for a user (who is signed out everywhere)."""

    model_config = ConfigDict(extra="forbid")

    new_password: str = Field(min_length=1, max_length=256)


class LockoutOut(BaseModel):
    """A login lock in force: a username from one address, or an address for every username."""

    id: int
    kind: str
    username: str | None
    user_id: int | None
    ip: str | None
    failures: int
    locked_until: datetime


class TokenIssued(BaseModel):
    """A token as issued: the plain value is shown this once."""

    id: int
    token: str
    token_type: str = "bearer"  # noqa: S105
    name: str
    user_id: int | None
    device_id: str | None
    expires_at: datetime | None


class TokenOut(BaseModel):
    """A stored token, without its value."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    user_id: int | None
    device_id: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


# How the console names audit actions; an action missing here is shown by its code.
# Where an audit action's label has an English text of its own (a page shows it with `translate_in`).
ACTION_CONTEXT = "audit action"
ACTION_LABELS: dict[str, str] = {
    "login.success": N_("登录成功"),
    "login.failed": N_("登录失败"),
    "logout": N_("退出登录"),
    "user.create": N_("添加用户"),
    "user.deactivate": N_("停用用户"),
    "user.unlock": N_("解除锁定"),
    "user.password_change": N_("修改密码"),
    "user.password_reset": N_("重置密码"),
    "login.locked": N_("登录锁定"),
    "login.unlock": N_("解除登录锁定"),
    "token.issue": N_("签发令牌"),
    "token.revoke": N_("吊销令牌"),
    "audit.export": N_("导出审计日志"),
    "resident.create": N_("登记居民"),
    "resident.update": N_("修改居民信息"),
    "resident.import": N_("导入居民"),
    "resident.import_check": N_("检查居民导入文件"),
    "resident.export": N_("导出居民"),
    "household.create": N_("新建住户"),
    "pii.reveal": N_("查看完整个人信息"),
    "pii.search": N_("按完整号码查找"),
    "device.disable": N_("停用设备"),
    "device.enable": N_("启用设备"),
    "pass.revoke": N_("吊销通行码"),
    "visitor.invite": N_("邀请访客"),
    "visitor.cancel": N_("撤销访客通行证"),
    "isolation.record": N_("登记居家隔离"),
    "watchlist.add": N_("布控车辆"),
    "demo.seed": N_("载入演示数据"),
    "keys.push": N_("下发通行码公钥"),
    "case.report": NC_("audit action", "上报事件"),  # what was done, where the figure reads "Cases reported"
    "case.accept": N_("受理事件"),
    "case.dispatch": N_("派遣事件"),
    "case.arrive": N_("到场"),
    "case.handle": N_("处置事件"),
    "case.verify": N_("核查事件"),
    "case.close": N_("结案"),
    "case.return": N_("退回事件"),
    "case.escalate": N_("事件升级"),
    "case.reopen": N_("重开事件"),
    "case.share": N_("共享事件"),
    "case.unshare": N_("撤销事件共享"),
    "case.deadline": N_("修改事件时限"),
    "plate.read": N_("辨认车牌"),
    "plate.dismiss": N_("标记无车牌/无法辨认"),
}


class AuditOut(BaseModel):
    """One audit row."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_user_id: int | None
    actor_name: str
    actor_role: str
    action: str
    target_type: str
    target_id: str | None
    target_label: str | None
    reason: str | None
    community_id: int | None
    ip: str | None
    detail: dict[str, Any] | None


def _moment(value: Any, *, end: bool) -> Any:
    """A date alone means that local day (the start, or the start of the next day for `until`)."""
    if isinstance(value, str) and _DATE_ONLY.match(value):
        value = date.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        if end and value.year < LAST_YEAR:
            value += timedelta(days=1)
        return datetime.combine(value, time(), tzinfo=LOCAL_TZ)  # the range check follows
    return value


class AuditFilter(BaseModel):
    """What to look for in the audit log; empty fields match everything."""

    actor: str | None = Field(default=None, max_length=64)
    action: str | None = Field(default=None, max_length=64)
    target: str | None = Field(default=None, max_length=128)
    since: InputDatetime | None = None
    until: InputDatetime | None = None

    @field_validator("actor", "action", "target", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("since", mode="before")
    @classmethod
    def _since(cls, value: Any) -> Any:
        return None if value == "" else _moment(value, end=False)

    @field_validator("until", mode="before")
    @classmethod
    def _until(cls, value: Any) -> Any:
        return None if value == "" else _moment(value, end=True)

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return aware(value) if value is not None else None


# How the console names what an audit row is about.
# What an audit row's target is (one of it: "Device #3"), apart from the pages named alike ("Devices").
TARGET_CONTEXT = "audit target"
TARGET_LABELS: dict[str, str] = {
    "user": NC_("audit target", "用户"),
    "resident": NC_("audit target", "居民"),
    "household": NC_("audit target", "住户"),
    "community": NC_("audit target", "社区"),
    "device": NC_("audit target", "设备"),
    "plate": NC_("audit target", "车牌"),
    "pass": NC_("audit target", "通行码"),
    "visitor_pass": NC_("audit target", "访客通行证"),
    "case": NC_("audit target", "事件"),
    "case_deadline": NC_("audit target", "事件时限"),
    "audit_log": NC_("audit target", "审计日志"),
    "unread_plate": NC_("audit target", "待辨认车牌"),
}


def actions_named(text: str) -> list[str]:
    """The action codes whose Chinese name contains `text` (the console shows names, so people type
    them: 吊销 finds token.revoke and pass.revoke, 事件 every case action)."""
    return sorted(code for code, label in ACTION_LABELS.items() if text in label)


class AuditSearch(AuditFilter):
    """An audit filter plus the page wanted (the query string of the search)."""

    page: int = Field(default=1, ge=1, le=100_000)
    size: int = Field(default=50, ge=1, le=200)

    def criteria(self) -> AuditFilter:
        """The filter alone."""
        return AuditFilter.model_validate(self.model_dump(exclude={"page", "size"}))

    def paging(self) -> PageParams:
        """The page alone."""
        return PageParams(page=self.page, size=self.size)


class DeactivateRequest(BaseModel):
    """Why a user is being deactivated (kept in the audit log)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class PrincipalOut(BaseModel):
    """Who the caller is, as the API reports it."""

    role: Role
    role_label: str
    user_id: int | None
    username: str
    community_ids: list[int]
    compound_ids: list[int]
    grid_ids: list[int]
    household_id: int | None
    person_id: int | None
    device_id: str | None

    @classmethod
    def of(cls, principal: Principal) -> PrincipalOut:
        """The report of one principal."""
        return cls(
            role=principal.role,
            role_label=ROLE_LABELS[principal.role],
            user_id=principal.user_id,
            username=principal.username,
            community_ids=sorted(principal.community_ids),
            compound_ids=sorted(principal.compound_ids),
            grid_ids=sorted(principal.grid_ids),
            household_id=principal.household_id,
            person_id=principal.person_id,
            device_id=principal.device_id,
        )
