"""Background work as small operations: run a function on a worker thread, get its result or its
error back on the GUI thread by signal (after Anki's ``QueryOp`` and Picard's ``run_task``).

Workers never touch widgets; callbacks run on the GUI thread. Each :class:`TaskRunner` owns its
own thread pool, so each resource gets its own (searches on one thread, library reads on
another, thumbnails on a few). This is the app's one way to run background work.

A job's failure goes to its ``on_failure`` callback; without one it goes to the runner's
:class:`~photosearch.gui.errors.ErrorReporter` (a user error to the status bar, a bug to the
log and a dialog), so no failure is only logged. :class:`SyncRunner` runs jobs inline, for
unit tests.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any

from photosearch.gui.errors import ErrorReporter
from photosearch.gui.qt import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)

Callback = Callable[[Any], None]


class _Job(QRunnable):
    def __init__(self, runner: TaskRunner, task_id: int, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._runner = runner
        self._id = task_id
        self._fn = fn

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as exc:  # delivered to the GUI thread, never lost
            ok, value = False, exc
        else:
            ok, value = True, result
        self._runner.deliver(self._id, ok, value)


class TaskRunner(QObject):
    """Runs callables on a private thread pool; results come back through a queued signal."""

    _finished = Signal(int, bool, object)

    def __init__(
        self,
        threads: int = 1,
        name: str = "worker",
        parent: QObject | None = None,
        errors: ErrorReporter | None = None,
    ):
        super().__init__(parent)
        self.name = name
        self.errors = errors
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._pool.setObjectName(name)
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple[Callback | None, Callback | None]] = {}
        # Jobs not yet finished, for cancel_queued; a job leaves it (under the lock) before its
        # run() returns, i.e. before the pool deletes it.
        self._jobs: dict[int, _Job] = {}
        self._jobs_lock = threading.Lock()
        self._closed = False
        self._finished.connect(self._on_finished)

    def run(
        self,
        fn: Callable[[], Any],
        on_success: Callback | None = None,
        on_failure: Callback | None = None,
    ) -> int:
        """Queue ``fn``; ``on_success(result)`` or ``on_failure(exception)`` runs on the GUI thread.

        After :meth:`shutdown` (the window is closing) nothing runs and -1 is returned."""
        if self._closed:
            log.debug("task runner %r is shut down; dropping %r", self.name, fn)
            return -1
        task_id = next(self._ids)
        self._callbacks[task_id] = (on_success, on_failure)
        self._start(task_id, fn)
        return task_id

    def _start(self, task_id: int, fn: Callable[[], Any]) -> None:
        job = _Job(self, task_id, fn)
        with self._jobs_lock:
            self._jobs[task_id] = job
        self._pool.start(job)

    def deliver(self, task_id: int, ok: bool, value: object) -> None:
        """Called on the worker: hand the outcome to the GUI thread."""
        with self._jobs_lock:
            self._jobs.pop(task_id, None)
        if not self._closed:
            self._finished.emit(task_id, ok, value)

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    def cancel_queued(self) -> None:
        """Drop jobs that have not started yet (their callbacks never run, and are forgotten:
        ``busy`` then only counts jobs that will report back)."""
        with self._jobs_lock:
            for task_id, job in list(self._jobs.items()):
                if self._pool.tryTake(job):
                    del self._jobs[task_id]
                    self._callbacks.pop(task_id, None)

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Drop queued jobs, wait for running ones; no callback runs afterwards."""
        self._closed = True
        with self._jobs_lock:
            self._pool.clear()
            self._jobs.clear()
        done = self._pool.waitForDone(timeout_ms)
        self._callbacks.clear()
        return done

    def _on_finished(self, task_id: int, ok: bool, value: object) -> None:
        on_success, on_failure = self._callbacks.pop(task_id, (None, None))
        if self._closed:
            return
        if ok:
            if on_success is not None:
                on_success(value)
        elif on_failure is not None:
            on_failure(value)
        elif self.errors is not None:
            self.errors.report(value)  # type: ignore[arg-type]
        else:
            log.error("background task failed", exc_info=value)  # type: ignore[arg-type]


class SyncRunner(TaskRunner):
    """A :class:`TaskRunner` that runs each job at once on the calling thread, callbacks
    included: for unit tests that want no threads (after Picard's synchronous test pool)."""

    def _start(self, task_id: int, fn: Callable[[], Any]) -> None:
        try:
            result = fn()
        except Exception as exc:
            self._on_finished(task_id, False, exc)
        else:
            self._on_finished(task_id, True, result)
