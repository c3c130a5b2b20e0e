"""Publish-after-commit: events ride on the session and are delivered once it commits."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence

from sqlalchemy import event
from sqlalchemy.orm import Session

from jiayuan.bus.events import DomainEvent

log = logging.getLogger(__name__)

Handler = Callable[[DomainEvent], None]
BatchHandler = Callable[[Sequence[DomainEvent]], None]
_PENDING = "jiayuan.pending_events"
_handlers: dict[type[DomainEvent], list[Handler]] = defaultdict(list)
_any_handlers: list[BatchHandler] = []


def subscribe(event_type: type[DomainEvent], handler: Handler) -> None:
    """Call `handler` for every committed event of this type (or a subclass)."""
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def unsubscribe(event_type: type[DomainEvent], handler: Handler) -> None:
    """Stop calling a handler registered with `subscribe`."""
    if handler in _handlers[event_type]:
        _handlers[event_type].remove(handler)


def subscribe_all(handler: BatchHandler) -> None:
    """Call `handler` with all the events of each commit, in order (the WebSocket hub uses this).

    One call per transaction rather than per event: an ingest batch commits hundreds at once.
    """
    if handler not in _any_handlers:
        _any_handlers.append(handler)


def unsubscribe_all(handler: BatchHandler) -> None:
    """Stop calling a handler registered with `subscribe_all`."""
    if handler in _any_handlers:
        _any_handlers.remove(handler)


def publish_on_commit(session: Session, domain_event: DomainEvent) -> None:
    """Queue an event on the session; it is delivered only if the transaction commits."""
    session.info.setdefault(_PENDING, []).append(domain_event)


def deliver(domain_events: Sequence[DomainEvent]) -> None:
    """Hand committed events to their handlers; a failing handler is logged, never fatal to the caller."""
    for domain_event in domain_events:
        for handler in [h for t, hs in _handlers.items() if isinstance(domain_event, t) for h in hs]:
            try:
                handler(domain_event)
            except Exception:
                log.exception("event handler %r failed on %s", handler, domain_event.name)
    if not domain_events:
        return
    for batch_handler in list(_any_handlers):
        try:
            batch_handler(domain_events)
        except Exception:
            log.exception("event handler %r failed on %d events", batch_handler, len(domain_events))


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    deliver(session.info.pop(_PENDING, []))


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def pending(session: Session) -> list[DomainEvent]:
    """Events waiting for this session to commit (the ingest loop relays them once committed)."""
    return list(session.info.get(_PENDING, []))
