"""How long work reports its stages and steps (the CLI shows a progress bar; services stay silent)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Where long work reports its stages and steps."""

    def stage(self, label: str, total: int) -> None:
        """A new stage of `total` steps begins."""

    def advance(self, steps: int = 1) -> None:
        """Some steps of the current stage are done."""


class Silent:
    """Progress that shows nothing (tests, the API)."""

    def stage(self, label: str, total: int) -> None:
        """Nothing to show."""

    def advance(self, steps: int = 1) -> None:
        """Nothing to show."""
