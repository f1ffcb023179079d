"""The one progress bar of every long-running command: rich, on stderr, off with `--no-progress`.

A bar counts steps (records, prompts, users, optimizer steps) and, when given a `unit`, shows the rate of
the work those steps did (tokens/s for scoring and generation, items/s for annotation), which is what a
user compares between runs. A disabled bar costs nothing and prints nothing, so callers never branch.
"""

from __future__ import annotations

import time
from typing import Any


class ProgressBar:
    """`with ProgressBar("scoring", total, unit="tok", enabled=...) as bar: ... bar.advance(n, work=tokens)`;
    `bar.note("loss 0.41")` sets the text after the counts. Usable as `start()` / `stop()` where a context
    manager does not fit (trainer callbacks)."""

    def __init__(self, description: str, total: int | None, *, unit: str | None = None, enabled: bool = True,
                 completed: int = 0):
        self.description, self.total, self.unit, self.enabled = description, total, unit, enabled
        self.completed = completed
        self.work = 0
        self._bar: Any = None
        self._task: Any = None
        self._start = 0.0

    def start(self) -> ProgressBar:
        self._start = time.perf_counter()
        if not self.enabled:
            return self
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
        if self.unit:
            columns.append(TextColumn(f"{{task.fields[rate]}} {self.unit}/s"))
        columns += [TimeElapsedColumn(), TextColumn("{task.fields[note]}")]
        self._bar = Progress(*columns, console=Console(stderr=True))
        self._bar.start()
        self._task = self._bar.add_task(self.description, total=self.total, completed=self.completed,
                                        rate="-", note="")
        return self

    def advance(self, n: int = 1, *, work: int | None = None) -> None:
        """`n` more steps done; `work` the units the rate counts (tokens) they took, default `n`."""
        self.completed += n
        self.work += n if work is None else work
        if self._bar is not None:
            elapsed = time.perf_counter() - self._start
            rate = self.work / elapsed if elapsed > 0 else 0.0
            self._bar.update(self._task, completed=self.completed, rate=f"{rate:,.1f}" if rate < 100 else
                             f"{rate:,.0f}")

    def note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, note=text)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
