"""Fan-out of committed events to live subscribers (WebSocket clients), filtered per recipient."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jiayuan.bus import bus
from jiayuan.bus.events import DomainEvent

Filter = Callable[[DomainEvent], bool]


@dataclass(eq=False)
class Subscription:
    """One live client: its queue, its loop, and what it may see."""

    may_see: Filter
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))
    dropped: int = 0

    def offer(self, messages: Sequence[dict[str, Any]]) -> None:
        # A slow client loses its oldest updates rather than stalling everyone else.
        for message in messages:
            if self.queue.full():
                self.queue.get_nowait()
                self.dropped += 1
            self.queue.put_nowait(message)


class Hub:
    """Receives every committed event (from any thread) and offers it to permitted subscribers."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self._lock = threading.Lock()

    def attach(self) -> None:
        """Start receiving events from the bus."""
        bus.subscribe_all(self.publish)

    def detach(self) -> None:
        """Stop receiving events from the bus."""
        bus.unsubscribe_all(self.publish)

    def subscribe(self, may_see: Filter) -> Subscription:
        """Register a client on the running loop."""
        subscription = Subscription(may_see=may_see, loop=asyncio.get_running_loop())
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a client."""
        with self._lock:
            self._subscriptions.discard(subscription)

    def publish(self, domain_events: Sequence[DomainEvent]) -> None:
        """Thread-safe: called by the bus after each commit, from request threads or the ingest thread.

        Each event is serialised once, only if someone may see it, and each client's loop is woken
        once per commit rather than once per event.
        """
        with self._lock:
            subscriptions = list(self._subscriptions)
        if not subscriptions:
            return
        messages: dict[int, dict[str, Any]] = {}

        def message(domain_event: DomainEvent) -> dict[str, Any]:
            if id(domain_event) not in messages:
                messages[id(domain_event)] = domain_event.to_message()
            return messages[id(domain_event)]

        for subscription in subscriptions:
            visible = [message(e) for e in domain_events if subscription.may_see(e)]
            if visible and not subscription.loop.is_closed():
                subscription.loop.call_soon_threadsafe(subscription.offer, visible)


hub = Hub()
