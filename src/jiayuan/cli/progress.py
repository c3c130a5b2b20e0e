"""A rich progress bar that services report their stages and steps to."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from jiayuan.cli.common import err_console


class StageBar:
    """One bar per stage; satisfies the progress protocols of the seeder and the importer."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def stage(self, label: str, total: int) -> None:
        """Finish the current bar and start the next."""
        if self._task is not None:
            task = self._progress.tasks[self._task]
            self._progress.update(self._task, completed=task.total)
        self._task = self._progress.add_task(label, total=max(total, 1))

    def advance(self, steps: int = 1) -> None:
        """Move the current bar on."""
        if self._task is not None:
            self._progress.advance(self._task, steps)


@contextmanager
def stage_bar() -> Iterator[StageBar]:
    """A progress display on stderr (stdout stays clean for --json output)."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as progress:
        bar = StageBar(progress)
        yield bar
        bar.stage("完成", 1)
        bar.advance()
