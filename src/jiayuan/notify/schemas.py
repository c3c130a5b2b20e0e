"""What the notify domain takes and gives: a case change to announce, the routing, messages as shown."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from jiayuan.kernel.i18n import Shown
from jiayuan.notify.states import ChannelName, MessageState


class Routing(BaseModel):
    """Where messages go, as configured: the group robots every community notice is sent to (the console
    when none is configured), whether SMS is configured, and the console's address for links."""

    group: tuple[ChannelName, ...] = (ChannelName.CONSOLE,)
    # Communities with group robots of their own: these go there instead of `group`.
    communities: dict[int, tuple[ChannelName, ...]] = Field(default_factory=dict)
    sms: bool = False
    console_url: str = ""


def community_robot(community_id: int) -> str:
    """The outbox target naming a community's own group robot (the default robot's is empty)."""
    return f"community:{community_id}"


class CaseNotice(BaseModel):
    """A change of a case worth telling people about; names and labels only, never who reported."""

    case_id: int
    community_id: int
    action: str = Field(description="report, dispatch, escalate or close")
    category_label: str
    title: str
    place: str
    state_label: str
    level: int = 0
    # Who has the case now: told in person (`personal`) when it is dispatched or handed up to them.
    assignee_user_id: int | None = None


class MessageOut(Shown):
    """One outbox message as the console and the CLI show it (the SMS recipient masked); a recipient or a
    text the platform words (本人, a hidden code) is built (`Shown`)."""

    id: int
    channel: ChannelName
    channel_label: str
    target: str
    title: str
    text: str
    link: str
    subject_type: str
    subject_id: int | None
    community_id: int | None
    state: MessageState
    state_label: str
    attempts: int
    due_at: datetime
    last_error: str
    created_at: datetime
    sent_at: datetime | None


class Delivery(BaseModel):
    """A claimed message as a sender needs it (the recipient in full)."""

    id: int
    channel: ChannelName
    target: str
    title: str
    text: str
    link: str
    attempts: int
