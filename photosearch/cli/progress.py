"""Progress of the long commands on stderr, drawn by tqdm (only on a terminal, unless forced).

tqdm handles what a hand-written bar gets wrong: the terminal's width as it changes, a steady
rate and time left, and clearing its line when done, so the command's own output stays clean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

# The indexer's phases that show a bar, with what each counts.
_PHASES = {"scan": ("scanning folders", " files"), "embed": ("embedding", " photos")}


def _bar(description: str, unit: str, total: int | None) -> Any:
    # lazy: tqdm (~20 ms) only when a bar is drawn, not on every command's start (`search`)
    from tqdm import tqdm

    return tqdm(
        desc=description,
        total=total,
        unit=unit,
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
        mininterval=0.1,
    )


class ProgressBar:
    """Shows an indexing run's ``Progress``: a count of files while the folders are scanned, then
    a bar of the photos embedded with their rate, the time left and any errors."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._phase = ""
        self._bar: Any = None

    def update(self, progress: Any) -> None:
        if not self.enabled:
            return
        if progress.phase != self._phase:
            self.close()
            self._phase = progress.phase
            if progress.phase in _PHASES:
                description, unit = _PHASES[progress.phase]
                self._bar = _bar(description, unit, progress.total or None)
        if self._bar is None:
            return
        if progress.total and self._bar.total != progress.total:
            self._bar.total = progress.total
        if progress.errors:
            self._bar.set_postfix_str(f"{progress.errors} errors", refresh=False)
        self._bar.update(progress.done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def counter(description: str, unit: str, enabled: bool) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback that draws a bar, closed once ``done`` reaches
    ``total``."""
    state: dict[str, Any] = {}

    def progress(done: int, total: int) -> None:
        if not enabled:
            return
        if "bar" not in state:
            state["bar"] = _bar(description, unit, total)
        bar = state["bar"]
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
            del state["bar"]

    return progress


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
