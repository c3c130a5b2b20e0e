"""The device outbox: held until receipted, resent at doubling pauses, bounded, broker-acked first."""

from __future__ import annotations

from dataclasses import dataclass

from jiayuan.device_link import Outbox
from jiayuan.devices.protocol import Delivered


@dataclass
class Publish:
    acked: bool

    def is_published(self) -> bool:
        return self.acked


def test_a_receipt_settles_only_what_it_names_for_that_device() -> None:
    box = Outbox()
    box.add(("cam", "event", "event-001"), "t/e", b"1", Publish(True), now=0)
    box.add(("cam", "snapshot", "s1"), "t/s", b"2", Publish(True), now=0)
    box.add(("qr", "event", "event-001"), "t/q", b"3", Publish(True), now=0)
    assert box.settle("cam", Delivered(ids=["event-001"], snapshots=["s1", "s9"])) == 2
    assert len(box) == 1  # the QR reader's event-001 is another event


def test_unreceipted_messages_come_due_at_doubling_pauses_up_to_the_longest() -> None:
    box = Outbox(first_resend_s=10, longest_resend_s=35)
    box.add(("cam", "event", "e1"), "t", b"1", Publish(True), now=0)
    dues = [t for t in range(0, 200) if box.due(now=t)]
    assert dues == [10, 30, 65, 100, 135, 170]


def test_after_a_reconnect_only_what_the_broker_acknowledged_is_sent_again() -> None:
    box = Outbox()
    box.add(("cam", "event", "acked"), "t", b"1", Publish(True), now=0)
    box.add(("cam", "event", "queued"), "t", b"2", Publish(False), now=0)  # the client resends it itself
    assert [key[2] for key, _, _ in box.acknowledged_by_broker()] == ["acked"]


def test_a_full_outbox_gives_up_the_oldest_and_counts_it() -> None:
    box = Outbox(limit=2)
    for n in range(3):
        box.add(("cam", "event", f"e{n}"), "t", b"", Publish(True), now=0)
    assert (len(box), box.dropped) == (2, 1)
    assert [key[2] for key, _, _ in box.acknowledged_by_broker()] == ["e1", "e2"]
