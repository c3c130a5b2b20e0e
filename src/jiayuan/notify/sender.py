"""The sender loop: claims due messages of one channel, sends them, records how each attempt went.

Each configured channel has its own loop in its own thread, so a provider that hangs until its timeout
holds up only its own messages. Everything lives in the outbox table: a sender that stops (or dies)
loses nothing, and on PostgreSQL several senders share one outbox without sending a message twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from jiayuan.db.uow import unit_of_work
from jiayuan.kernel.clock import utcnow
from jiayuan.kernel.principal import Principal
from jiayuan.notify import service
from jiayuan.notify.channels import Channel, DeliveryError, Outgoing
from jiayuan.notify.states import MessageState, RetryPolicy

log = logging.getLogger(__name__)


@dataclass
class Sender:
    """Delivers the outbox messages of one channel."""

    sessions: sessionmaker[Session]
    channel: Channel
    policy: RetryPolicy
    # How long a claimed message is held; longer than a send can take (the channel's timeout).
    lease: timedelta = timedelta(seconds=120)
    batch: int = 20
    clock: Callable[[], datetime] = utcnow

    def run_once(self) -> dict[MessageState, int]:
        """One pass: claim what is due, send it, record each outcome; how many ended in each state."""
        actor = Principal.system()
        with unit_of_work(self.sessions) as session:
            deliveries = service.claim(
                session,
                actor=actor,
                channel=self.channel.name,
                now=self.clock(),
                lease=self.lease,
                limit=self.batch,
            )
        outcomes: dict[MessageState, int] = {}
        for delivery in deliveries:
            error = None
            try:
                self.channel.send(
                    Outgoing(
                        title=delivery.title, text=delivery.text, target=delivery.target, link=delivery.link
                    )
                )
            except DeliveryError as exc:
                error = str(exc)
            except Exception as exc:  # a bug in a channel must not stop the loop; the row keeps the kind
                log.exception("channel %s failed on message %d", self.channel.name, delivery.id)
                error = f"发送出错（{type(exc).__name__}）"
            with unit_of_work(self.sessions) as session:
                state = service.settle(
                    session, actor=actor, delivery=delivery, error=error, now=self.clock(), policy=self.policy
                )
            if state is not None:
                outcomes[state] = outcomes.get(state, 0) + 1
        return outcomes

    def run(self, stop: threading.Event, *, poll_s: float = 1.0) -> None:
        """Pass after pass until `stop` is set; waits `poll_s` when nothing was due. A database that is
        away for a moment is logged and tried again."""
        while not stop.is_set():
            try:
                busy = bool(self.run_once())
            except Exception:
                log.exception("outbox sender for %s", self.channel.name)
                busy = False
            if not busy:
                stop.wait(poll_s)


@dataclass
class Pruner:
    """Deletes messages that were sent or given up on longer ago than `keep`; pending ones stay."""

    sessions: sessionmaker[Session]
    keep: timedelta
    every: timedelta = timedelta(hours=1)
    clock: Callable[[], datetime] = utcnow

    def run_once(self) -> int:
        """One pruning pass; how many messages were deleted."""
        with unit_of_work(self.sessions) as session:
            return service.prune(session, actor=Principal.system(), before=self.clock() - self.keep)

    def run(self, stop: threading.Event) -> None:
        """A pass at once and then every `every` until `stop` is set."""
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("outbox pruning")
            stop.wait(self.every.total_seconds())


class Senders:
    """The sender loops of every configured channel, each in a thread of its own, and the pruner."""

    def __init__(
        self, senders: Iterable[Sender], *, pruner: Pruner | None = None, poll_s: float = 1.0
    ) -> None:
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(
                target=sender.run,
                args=(self._stop,),
                kwargs={"poll_s": poll_s},
                name=f"jiayuan-notify-{sender.channel.name}",
                daemon=True,
            )
            for sender in senders
        ]
        if pruner is not None:
            self._threads.append(
                threading.Thread(
                    target=pruner.run, args=(self._stop,), name="jiayuan-notify-prune", daemon=True
                )
            )

    def start(self) -> Senders:
        """Start every loop."""
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every loop to stop and wait for the send in flight (bounded by the channel's timeout)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
