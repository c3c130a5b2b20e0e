"""Fan-out of committed events to live subscribers (WebSocket clients), filtered per recipient.

Events reach the hub as JSON-ready messages, from two places: this process's own commits (through
the bus) and the ingest process's commits (through the live relay, see `web.live_feed`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jiayuan.bus import bus
from jiayuan.bus.events import DomainEvent

Message = dict[str, Any]
Filter = Callable[[Message], bool]


@dataclass(eq=False)
class Subscription:
    """One live client: the event names it wants, what of those it may see, its queue and loop."""

    names: frozenset[str]
    may_see: Filter
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Message] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))
    dropped: int = 0

    def offer(self, messages: Sequence[Message]) -> None:
        # A slow client loses its oldest updates rather than stalling everyone else.
        for message in messages:
            if self.queue.full():
                self.queue.get_nowait()
                self.dropped += 1
            self.queue.put_nowait(message)


class Hub:
    """Receives committed events (from any thread) and offers them to permitted subscribers."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self._lock = threading.Lock()

    def attach(self) -> None:
        """Start receiving this process's committed events from the bus."""
        bus.subscribe_all(self.publish_events)

    def detach(self) -> None:
        """Stop receiving events from the bus."""
        bus.unsubscribe_all(self.publish_events)

    def subscribe(self, names: frozenset[str], may_see: Filter) -> Subscription:
        """Register a client on the running loop."""
        subscription = Subscription(names=names, may_see=may_see, loop=asyncio.get_running_loop())
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a client."""
        with self._lock:
            self._subscriptions.discard(subscription)

    def wanted(self) -> frozenset[str]:
        """The event names some client wants now."""
        with self._lock:
            return frozenset().union(*(s.names for s in self._subscriptions))

    def publish_events(self, domain_events: Sequence[DomainEvent]) -> None:
        """The bus's batch handler: serialise only the events some client wants."""
        wanted = self.wanted()
        if wanted:
            self.publish([e.to_message() for e in domain_events if e.name in wanted])

    def publish(self, messages: Sequence[Message]) -> None:
        """Thread-safe: offer one commit's messages; each client's loop is woken once, not per message."""
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            visible = [m for m in messages if m["event"] in subscription.names and subscription.may_see(m)]
            if visible and not subscription.loop.is_closed():
                subscription.loop.call_soon_threadsafe(subscription.offer, visible)


hub = Hub()
