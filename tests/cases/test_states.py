"""The case loop: every action from every state is either the one documented move or refused by name."""

from __future__ import annotations

import pytest

from jiayuan.cases.states import CaseAction, CaseState, allowed, move
from jiayuan.kernel.errors import Conflict

LOOP = list(CaseState)
STEPS = ["accept", "dispatch", "arrive", "handle", "verify", "close"]


def test_the_loop_runs_forward_one_step_at_a_time() -> None:
    state = CaseState.REPORTED
    for action in STEPS:
        state = move(state, CaseAction(action)).to
    assert state is CaseState.CLOSED


@pytest.mark.parametrize("state", list(CaseState))
@pytest.mark.parametrize("action", list(CaseAction))
def test_every_action_from_every_state_moves_as_documented_or_names_the_choices(
    state: CaseState, action: CaseAction
) -> None:
    index = LOOP.index(state)
    expected: CaseState | None
    if action.value in STEPS:
        target = LOOP[STEPS.index(action.value) + 1]
        expected = target if LOOP.index(target) == index + 1 else None
    elif action is CaseAction.RETURN:
        expected = LOOP[index - 1] if 0 < index < len(LOOP) - 1 else None
    elif action is CaseAction.ESCALATE:
        expected = state if state is not CaseState.CLOSED else None
    elif action is CaseAction.MERGE:
        expected = None  # not a step of the loop (cases.service.workflow.merge)
    else:
        expected = CaseState.ACCEPTED if state is CaseState.CLOSED else None
    if expected is None:
        with pytest.raises(Conflict) as refused:
            move(state, action)
        assert refused.value.field == "action"
        assert f"事件处于“{state.label}”，不能{action.label}" in refused.value.message
        assert all(choice.label in refused.value.message for choice in allowed(state))
        assert action not in allowed(state)
    else:
        outcome = move(state, action)
        assert outcome.to is expected and outcome.escalates == (action is CaseAction.ESCALATE)
        assert action in allowed(state)


def test_a_closed_case_can_only_be_reopened() -> None:
    assert allowed(CaseState.CLOSED) == [CaseAction.REOPEN]
    assert allowed(CaseState.REPORTED) == [CaseAction.ACCEPT, CaseAction.ESCALATE]
