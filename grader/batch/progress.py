"""Progress of a long run (a class, the mutants of `grade reference`), drawn by rich.

On a terminal: a live bar with the rate and the time left. Anywhere else (a pipe, a CI log):
one plain line per finished item, no escape codes, so the log stays readable.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.text import Text

from grader.formats import text

LINE = "{done}/{total} {item}: {outcome}"


class Progress:
    """Counts finished items; the rate and time left count only those done in this run."""

    def __init__(self, total: int, stream: TextIO, tty: bool, already_done: int = 0) -> None:
        self.total = total
        self.stream = stream
        self.tty = tty
        self.done = already_done
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        if tty:
            console = Console(
                file=stream, force_terminal=True, markup=False, emoji=False, highlight=False
            )
            self._bar = RichProgress(
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[item]}", markup=False),
                console=console,
                transient=False,
            )
            self._task = self._bar.add_task("", total=total, completed=already_done, item="")
            self._bar.start()

    def advance(self, item: str, outcome: str) -> None:
        self.done += 1
        shown = text.inert(item)
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1, item=Text(shown[:40]).plain)
            return
        line = LINE.format(done=self.done, total=self.total, item=shown, outcome=outcome)
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
