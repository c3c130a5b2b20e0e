"""The parts of the console, shown as home-page cards and top-bar links to the roles that may use them.

Who may open an area is asked of the domain policy that guards the area's pages, never decided here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jiayuan.access.policies import may_list_visitors, may_view_gates
from jiayuan.accounts.policies import may_manage_users, may_read_audit
from jiayuan.cases.policies import may_read as may_read_cases
from jiayuan.devices.policies import may_inspect, may_view_cameras
from jiayuan.duty.policies import may_read as may_read_duty
from jiayuan.kernel.principal import Principal
from jiayuan.notify.policies import may_read as may_read_messages
from jiayuan.patrol.policies import may_read as may_read_patrols
from jiayuan.registry.policies import may_change_registry, may_read_residents
from jiayuan.web.i18n import N_, NC_
from jiayuan.web.phone import may_use_phone
from jiayuan.web.screen import may_watch_screen


@dataclass(frozen=True)
class Area:
    """A part of the console: its address, card title, top-bar label, card text and who may open it."""

    href: str
    title: str
    nav: str
    icon: str  # one character of the title (its initial in English: marked in the "icon" context)
    text: str
    may_open: Callable[[Principal], bool]


AREAS = (
    Area(
        href="/console/residents",
        title=N_("居民"),
        nav=N_("居民"),
        icon=NC_("icon", "居"),
        text=N_("社区底数：小区、楼栋、住户与居民，按姓名、拼音、电话尾号查找。"),
        may_open=may_read_residents,
    ),
    Area(
        href="/console/residents/import",
        title=N_("导入导出"),
        nav=N_("导入导出"),
        icon=NC_("icon", "表"),
        text=N_("用 Excel 批量导入、导出居民信息，逐行校验，出错不写入。"),
        may_open=may_change_registry,
    ),
    Area(
        href="/console/cases",
        title=N_("事件"),
        nav=N_("事件"),
        icon=NC_("icon", "事"),
        text=N_("一键报警、门岗告警与居民诉求：受理、派遣、到场、处置、核查、结案，超时自动升级。"),
        may_open=may_read_cases,
    ),
    Area(
        href="/console/duty",
        title=N_("值班"),
        nav=N_("值班"),
        icon=NC_("icon", "值"),
        text=N_("网格员、网格长、值班干部、书记与门岗的排班：周模板、调班、节假日、签到，当前谁在岗。"),
        may_open=may_read_duty,
    ),
    Area(
        href="/console/messages",
        title=N_("消息"),
        nav=N_("消息"),
        icon=NC_("icon", "信"),
        text=N_("发往企业微信、钉钉群和短信的事件通知：是否送达、重试几次、为何失败；未配置渠道时在此查看。"),
        may_open=may_read_messages,
    ),
    Area(
        href="/console/flow",
        title=N_("闸口通行"),
        nav=N_("闸口通行"),
        icon=NC_("icon", "闸"),
        text=N_("今日人员进出与外来车辆，实时通行记录、扫码结果与告警。"),
        may_open=may_view_gates,
    ),
    Area(
        href="/console/visitors",
        title=N_("访客"),
        nav=N_("访客"),
        icon=NC_("icon", "访"),
        text=N_("住户邀请的访客通行证：时段、次数与状态，按小区、状态、日期筛选，可撤销。"),
        may_open=may_list_visitors,
    ),
    Area(
        href="/console/cameras",
        title=N_("摄像机"),
        nav=N_("实时画面"),
        icon=NC_("icon", "像"),
        text=N_("各出入口的实时画面与通行计数。"),
        may_open=may_view_cameras,
    ),
    Area(
        href="/console/patrol",
        title=N_("视频巡查"),
        nav=N_("巡查"),
        icon=NC_("icon", "巡"),
        text=N_("按计划逐台查看门岗摄像机，逐项核对；发现问题当场生成事件，漏巡一目了然。"),
        may_open=may_read_patrols,
    ),
    Area(
        href="/screen",
        title=N_("大屏"),
        nav=N_("大屏"),
        icon=NC_("icon", "屏"),
        text=N_("办公室电视上的社区全貌：平面图、各出入口进出、告警与事件、门岗画面，断线自动恢复。"),
        may_open=may_watch_screen,
    ),
    Area(
        href="/m",
        title=N_("网格员手机"),
        nav=N_("手机"),
        icon=NC_("icon", "机"),
        text=N_(
            "在手机上处理派给我的事件（受理、到场、处置、拍照），新事件响铃提醒，查网格居民、值班与巡查；断网也能用。"
        ),
        may_open=may_use_phone,
    ),
    Area(
        href="/console/devices",
        title=N_("设备"),
        nav=N_("设备"),
        icon=NC_("icon", "设"),
        text=N_("门岗设备是否在线、上报计数，以及被拒收的消息和原因。"),
        may_open=may_inspect,
    ),
    Area(
        href="/console/users",
        title=N_("用户"),
        nav=N_("用户"),
        icon=NC_("icon", "人"),
        text=N_("账户、角色与负责范围；停用账户、解除锁定。"),
        may_open=may_manage_users,
    ),
    Area(
        href="/console/audit",
        title=N_("审计"),
        nav=N_("审计"),
        icon=NC_("icon", "审"),
        text=N_("谁在何时对谁做了什么、为什么；可筛选并导出 Excel。"),
        may_open=may_read_audit,
    ),
)


def areas_for(principal: Principal | None) -> list[Area]:
    """The areas this principal may open (none for an anonymous visitor)."""
    if principal is None:
        return []
    return [a for a in AREAS if a.may_open(principal)]
