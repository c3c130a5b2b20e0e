"""Where a patrol slot stands. A slot is a moment of a plan's schedule; its round is begun and
finished by a person, and a slot whose time passed with no finished round is missed."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from jiayuan.kernel.i18n import N_


class SlotState(StrEnum):
    """A slot, from the schedule and its round (if any)."""

    UPCOMING = "upcoming"
    DUE = "due"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    MISSED = "missed"

    @property
    def label(self) -> str:
        """未到 / 待巡查 / 巡查中 / 已完成 / 漏巡."""
        return SLOT_LABELS[self]


SLOT_LABELS = {
    SlotState.UPCOMING: N_("未到"),
    SlotState.DUE: N_("待巡查"),
    SlotState.IN_PROGRESS: N_("巡查中"),
    SlotState.DONE: N_("已完成"),
    SlotState.MISSED: N_("漏巡"),
}


class RoundState(StrEnum):
    """A round as stored."""

    IN_PROGRESS = "in_progress"
    DONE = "done"


def slot_state(slot: datetime, grace: timedelta, round_state: str | None, now: datetime) -> SlotState:
    """What a slot is at `now`: a finished round makes it done whenever it was finished (late rounds
    are allowed only while the slot is due, see `service.start_round`)."""
    if round_state == RoundState.DONE.value:
        return SlotState.DONE
    if now < slot:
        return SlotState.UPCOMING
    if now >= slot + grace:
        return SlotState.MISSED
    return SlotState.IN_PROGRESS if round_state == RoundState.IN_PROGRESS.value else SlotState.DUE
