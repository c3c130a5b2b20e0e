"""The case loop of grid governance (网格化管理): 上报 → 受理 → 派遣 → 到场 → 处置 → 核查 → 结案.

Besides the step forward, a case can be 退回 (sent back one step, with a reason), 升级 (escalated: it
stays where it is, one level up the chain), 合并 (a duplicate report closed into the case it repeats,
by `cases.service.workflow.merge`) and, once closed, 重开 (reopened to 受理: closed is not fixed). This
module is the only place that knows which action is allowed from which state; everything else asks it,
and a refusal names what the current state does allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from jiayuan.kernel.errors import Conflict
from jiayuan.kernel.i18n import N_, Label, Labels


class CaseState(StrEnum):
    """Where a case stands; the order is the loop's."""

    REPORTED = "reported"
    ACCEPTED = "accepted"
    DISPATCHED = "dispatched"
    ON_SITE = "on_site"
    HANDLED = "handled"
    VERIFIED = "verified"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        """上报 / 受理 / 派遣 / 到场 / 处置 / 核查 / 结案."""
        return STATE_LABELS[self]


STATE_LABELS = {
    CaseState.REPORTED: N_("上报"),
    CaseState.ACCEPTED: N_("受理"),
    CaseState.DISPATCHED: N_("派遣"),
    CaseState.ON_SITE: N_("到场"),
    CaseState.HANDLED: N_("处置"),
    CaseState.VERIFIED: N_("核查"),
    CaseState.CLOSED: N_("结案"),
}
LOOP = list(CaseState)


class CaseAction(StrEnum):
    """What a person does to a case."""

    ACCEPT = "accept"
    DISPATCH = "dispatch"
    ARRIVE = "arrive"
    HANDLE = "handle"
    VERIFY = "verify"
    CLOSE = "close"
    RETURN = "return"
    ESCALATE = "escalate"
    REOPEN = "reopen"
    MERGE = "merge"

    @property
    def label(self) -> str:
        """受理 / 派遣 / … / 退回 / 升级 / 重开."""
        return ACTION_LABELS[self]


ACTION_LABELS = {
    CaseAction.ACCEPT: N_("受理"),
    CaseAction.DISPATCH: N_("派遣"),
    CaseAction.ARRIVE: N_("到场"),
    CaseAction.HANDLE: N_("处置"),
    CaseAction.VERIFY: N_("核查"),
    CaseAction.CLOSE: N_("结案"),
    CaseAction.RETURN: N_("退回"),
    CaseAction.ESCALATE: N_("升级"),
    CaseAction.REOPEN: N_("重开"),
    CaseAction.MERGE: N_("合并"),
}
# Each step forward leads from the state before it.
FORWARD = {
    CaseAction.ACCEPT: CaseState.ACCEPTED,
    CaseAction.DISPATCH: CaseState.DISPATCHED,
    CaseAction.ARRIVE: CaseState.ON_SITE,
    CaseAction.HANDLE: CaseState.HANDLED,
    CaseAction.VERIFY: CaseState.VERIFIED,
    CaseAction.CLOSE: CaseState.CLOSED,
}
OPEN_STATES = frozenset(LOOP[:-1])
# Sent back one step from where the work is in someone's hands (not from 上报: nothing to return to).
RETURNABLE = frozenset(LOOP[1:-1])


@dataclass(frozen=True)
class Move:
    """The outcome of an action: the state after it and whether it raises the escalation level."""

    to: CaseState
    escalates: bool = False


def allowed(state: CaseState) -> list[CaseAction]:
    """The actions allowed from a state, in the loop's order."""
    return [action for action in CaseAction if _move(state, action) is not None]


def move(state: CaseState, action: CaseAction) -> Move:
    """Where `action` takes a case in `state`; Conflict (field `action`) naming what is allowed instead."""
    found = _move(state, action)
    if found is None:
        choices = Labels(a.label for a in allowed(state)) or Label(N_("无"))
        raise Conflict(
            "事件处于“{state}”，不能{action}；此时可以：{choices}",
            field="action",
            state=Label(state.label),
            action=Label(action.label),
            choices=choices,
        )
    return found


def _move(state: CaseState, action: CaseAction) -> Move | None:
    if action in FORWARD:
        target = FORWARD[action]
        return Move(target) if LOOP.index(target) == LOOP.index(state) + 1 else None
    if action is CaseAction.RETURN:
        return Move(LOOP[LOOP.index(state) - 1]) if state in RETURNABLE else None
    if action is CaseAction.ESCALATE:
        return Move(state, escalates=True) if state in OPEN_STATES else None
    if action is CaseAction.MERGE:
        return None  # not a step of the loop: `cases.service.workflow.merge` closes a duplicate into its case
    return Move(CaseState.ACCEPTED) if state is CaseState.CLOSED else None  # REOPEN
