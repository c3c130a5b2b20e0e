"""The demo's cases: an alarm of every kind from the gates and reports from residents, staff and grid
workers, some closed after the whole loop, some on their way, all made through the services as the
people on duty would make them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from jiayuan.access.service.alarms import raise_alarm
from jiayuan.accounts.service.users import active_principal
from jiayuan.cases.schemas import ActionIn, AlarmCase, CaseIn, Category
from jiayuan.cases.service import reporting, workflow
from jiayuan.cases.states import CaseAction
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal
from jiayuan.registry.service import directory


@dataclass(frozen=True)
class GateAlarm:
    """An alarm raised at a gate device, and how far the office took its case."""

    type: str
    device_id: str
    summary: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    """A report by a demo account, at the demo resident's building (the first grid's business), with
    the spot named where it is not the home itself."""

    reporter: str
    category: Category
    title: str
    description: str
    steps: tuple[str, ...]
    place: str = ""


# Who takes each step: the office accepts, dispatches and closes, the grid worker goes and handles, and
# the 网格长 checks (never the person who handled it).
_TAKEN_BY = {
    "accept": "staff",
    "dispatch": "staff",
    "arrive": "grid01",
    "handle": "grid01",
    "verify": "gridlead",
    "close": "staff",
}
_WHOLE_LOOP = ("accept", "dispatch", "arrive", "handle", "verify", "close")

ALARMS = (
    GateAlarm("sos", "jjhy-gate1-sos", "锦江花园南门一键报警按钮被按下", _WHOLE_LOOP),
    GateAlarm("isolation_scan", "jjhy-gate1-qr", "居家隔离人员在锦江花园南门扫码", _WHOLE_LOOP),
    GateAlarm("tailgating", "jjhy-gate1-cam360", "锦江花园南门疑似尾随通行", ("accept",)),
    GateAlarm("watchlist_plate", "jjhy-gate1-plate", "布控车辆 豫A·7K3M2 驶入锦江花园南门", _WHOLE_LOOP),
    GateAlarm("door_forced", "jjhy-gate1-qr", "锦江花园南门门被强行打开", ("accept", "dispatch")),
    GateAlarm("device_offline", "jjhy-gate1-speaker", "锦江花园南门广播音箱离线", _WHOLE_LOOP),
    GateAlarm("loitering", "jjhy-gate1-cam360", "锦江花园南门夜间有人长时间逗留", ()),
)

REPORTS = (
    Report("jumin", Category.REPAIR, "1单元楼道灯不亮", "三楼到五楼的声控灯都不亮了。", _WHOLE_LOOP),
    Report(
        "jumin",
        Category.NOISE,
        "楼上深夜装修",
        "连续三晚十一点后还在电钻。",
        ("accept", "dispatch", "arrive"),
    ),
    Report("jumin", Category.SANITATION, "垃圾桶满溢", "单元门口的垃圾桶两天没清运。", ()),
    Report(
        "grid01",
        Category.SAFETY,
        "楼道堆放杂物",
        "1单元一楼楼道堆有旧家具，堵住消防通道。",
        ("accept", "dispatch"),
    ),
    Report(
        "staff",
        Category.NEIGHBOURS,
        "邻里停车纠纷",
        "两户因车位发生争执，需调解。",
        _WHOLE_LOOP,
        "楼下地面停车位",
    ),
    Report("staff", Category.OTHER, "小区围墙广告", "围墙上有小广告需清理。", ("accept",), "楼栋外墙"),
)


def seed_cases(session: Session, *, home_id: int) -> int:
    """Raise the demo's alarms and reports and take each as far as its steps say; how many cases."""
    people = {name: _principal(session, name) for name in {*_TAKEN_BY.values(), "jumin", "grid01"}}
    devices = directory.devices_by_ids(session, {a.device_id for a in ALARMS})
    system = Principal.system()
    for alarm in ALARMS:
        raised = raise_alarm(
            session,
            type=alarm.type,
            device=devices[alarm.device_id],
            at=utcnow(),
            summary=alarm.summary,
            evidence={},
        )
        as_case = AlarmCase(
            raised.id, alarm.type, raised.community_id, raised.compound_id, raised.gate_id, raised.device_id,
            alarm.summary,
        )  # fmt: skip
        (case_id,) = reporting.open_from_alarms(session, actor=system, alarms=[as_case])
        _walk(session, people, case_id, alarm.steps)
    for report in REPORTS:
        data = CaseIn(
            category=report.category,
            title=report.title,
            description=report.description,
            household_id=home_id,
            place=report.place,
        )
        case = reporting.report_case(session, actor=people[report.reporter], data=data)
        _walk(session, people, case.id, report.steps)
    return len(ALARMS) + len(REPORTS)


def _principal(session: Session, username: str) -> Principal:
    found = active_principal(session, username)
    if found is None:
        raise LookupError(f"demo account {username} is missing")
    return found


def _walk(session: Session, people: dict[str, Principal], case_id: int, steps: tuple[str, ...]) -> None:
    for step in steps:
        action = CaseAction(step)
        assignee = people["grid01"].user_id if action is CaseAction.DISPATCH else None
        data = ActionIn(action=action, assignee_user_id=assignee, note=_NOTES.get(step, ""))
        workflow.act(session, actor=people[_TAKEN_BY[step]], case_id=case_id, data=data)


_NOTES = {
    "arrive": "已到现场",
    "handle": "已处理完毕，附现场情况说明",
    "verify": "回访核实，问题已解决",
}
