"""Where an outbox message stands, and when a failed attempt is tried again.

pending → sending (claimed by a sender for a lease) → sent; a failed attempt goes back to pending, due
again after an exponential backoff with jitter and a cap, until the last allowed attempt ends in failed.
A sender that dies while sending leaves its row in sending; once the lease runs out another claims it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from jiayuan.kernel.i18n import N_


class MessageState(StrEnum):
    """The life of one message."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"

    @property
    def label(self) -> str:
        """待发送 / 发送中 / 已发送 / 发送失败."""
        return STATE_LABELS[self]


STATE_LABELS = {
    MessageState.PENDING: N_("待发送"),
    MessageState.SENDING: N_("发送中"),
    MessageState.SENT: N_("已发送"),
    MessageState.FAILED: N_("发送失败"),
}
# States a sender may claim a row in (sending only once its lease has run out).
CLAIMABLE = (MessageState.PENDING.value, MessageState.SENDING.value)
# States a message ends in; only these are pruned.
SETTLED = (MessageState.SENT.value, MessageState.FAILED.value)


class ChannelName(StrEnum):
    """The ways a message leaves the platform."""

    CONSOLE = "console"
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    SMS = "sms"

    @property
    def label(self) -> str:
        """控制台 / 企业微信 / 钉钉 / 短信."""
        return CHANNEL_LABELS[self]


CHANNEL_LABELS = {
    ChannelName.CONSOLE: N_("控制台"),
    ChannelName.WECOM: N_("企业微信"),
    ChannelName.DINGTALK: N_("钉钉"),
    ChannelName.SMS: N_("短信"),
}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how soon a message is tried again.

    The n-th retry waits min(cap, base · 2^(n-1)) scaled by a random factor in [1 - jitter, 1], so
    senders that failed together do not all come back at the same instant.
    """

    max_attempts: int = 8
    base_s: float = 5.0
    cap_s: float = 600.0
    jitter: float = 0.5

    def delay(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        """How long to wait after the `attempts`-th failed attempt."""
        ceiling = min(self.cap_s, self.base_s * 2 ** max(attempts - 1, 0))
        factor = 1.0 - self.jitter * (rng or random).random()
        return timedelta(seconds=ceiling * factor)

    def gives_up(self, attempts: int) -> bool:
        """Whether `attempts` made attempts are the last allowed."""
        return attempts >= self.max_attempts
