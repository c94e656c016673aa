"""The single writer: one thread owns the write connection and runs every write on it.

Callers hand it functions (``submit(fn)``) that receive the :class:`Database`; results and
exceptions come back through futures. SQLite allows one writer at a time anyway; funnelling
writes through one thread removes lock contention and makes batching natural.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from photosearch.core.library.db import Database

log = logging.getLogger(__name__)
T = TypeVar("T")

_STOP = object()


class WriterClosedError(RuntimeError):
    pass


class Writer:
    def __init__(self, path: Path, setup: Callable[[Database], None]) -> None:
        self._jobs: queue.Queue[Any] = queue.Queue()
        self._ready: Future[None] = Future()
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, args=(path, setup), name="photosearch-writer", daemon=True
        )
        self._thread.start()
        self._ready.result()  # re-raises an error from opening or migrating

    def _run(self, path: Path, setup: Callable[[Database], None]) -> None:
        try:
            db = Database(path)
            setup(db)
        except BaseException as exc:
            self._ready.set_exception(exc)
            return
        self._ready.set_result(None)
        try:
            while True:
                job = self._jobs.get()
                if job is _STOP:
                    break
                fn, future = job
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(fn(db))
                except BaseException as exc:
                    future.set_exception(exc)
        finally:
            db.close()

    def submit(self, fn: Callable[[Database], T]) -> Future[T]:
        if self._closed:
            raise WriterClosedError("the library is closed")
        future: Future[T] = Future()
        self._jobs.put((fn, future))
        return future

    def call(self, fn: Callable[[Database], T]) -> T:
        """Run ``fn`` on the writer thread and wait for its result."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("Writer.call from the writer thread would deadlock")
        return self.submit(fn).result()

    def pending(self) -> int:
        return self._jobs.qsize()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._jobs.put(_STOP)
        self._thread.join()
