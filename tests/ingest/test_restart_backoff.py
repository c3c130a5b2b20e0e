"""How long the supervisor waits before starting a dead ingest child again, and how it names the end."""

from __future__ import annotations

import pytest

from jiayuan.ingest.supervisor import exit_reason, restart_delay


def test_children_dying_young_wait_one_second_doubling_to_thirty() -> None:
    delays: list[float] = []
    delay = None
    for _ in range(8):
        delay = restart_delay(delay, ran_for=2.0)
        delays.append(delay)
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_a_child_that_ran_stably_restarts_after_the_first_delay_again() -> None:
    assert restart_delay(30.0, ran_for=59.9) == 30.0
    assert restart_delay(30.0, ran_for=60.0) == 1.0
    assert restart_delay(4.0, ran_for=3600.0, first=0.5, stable_after=600.0) == 0.5


@pytest.mark.parametrize(
    ("exitcode", "reason"),
    [(-9, "signal SIGKILL"), (-11, "signal SIGSEGV"), (1, "exit code 1"), (None, "unknown")],
)
def test_exit_reasons_name_the_signal_or_the_code(exitcode: int | None, reason: str) -> None:
    assert exit_reason(exitcode) == reason
