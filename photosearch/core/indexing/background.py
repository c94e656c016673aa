"""Helpers for indexing on a background thread next to a GUI: a lower priority, and live
updates of what was embedded, at most a few a second."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable

from photosearch.core.indexing.changes import Changes

log = logging.getLogger(__name__)

LIVE_UPDATE_S = 0.25  # at most 4 live updates a second for the grid


def lower_thread_priority(nice: int) -> None:
    """Lower the calling thread's scheduling priority by ``nice`` (Linux only: elsewhere
    setpriority would lower the whole process, the GUI too). Threads it starts inherit it."""
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except (OSError, AttributeError) as exc:
        log.debug("cannot lower the indexing priority: %s", exc)


class LiveChanges:
    """Collects the embedding batches as the writer commits them (:meth:`add`, any thread) and
    reports them to ``report`` together, at most every ``LIVE_UPDATE_S`` (:meth:`tick`) and
    when the pass ends (:meth:`flush`)."""

    def __init__(self, report: Callable[[Changes], object]) -> None:
        self.report = report
        self._lock = threading.Lock()
        self._pending = Changes("embed")
        self._last = 0.0

    def add(self, batch: Changes) -> None:
        with self._lock:
            self._pending.merge(batch)

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last >= LIVE_UPDATE_S:
            self._last = now
            self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, Changes("embed")
        self.report(batch)
