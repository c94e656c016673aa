"""Advisory locks between the photosearch processes that share a library.

Two lock files live next to the database (both 0600, never deleted):

``library.db.lock``
    Held *shared* by every process that has the library open (:class:`~photosearch.core.library.store.
    Library`: the app, ``watch``, ``index``, every command), *exclusive* by ``repair``, which
    therefore refuses while the library is open anywhere else.
``library.db.indexing.lock``
    Held *exclusive* while a process scans and embeds (:class:`~photosearch.core.indexing.indexer.Indexer`):
    one indexer per library at a time, so two processes never embed the same photos. The holder
    writes its pid into the file, for the message the next one shows while it waits.

The locks are ``flock`` locks: they belong to an open file, so the kernel drops them when the
process dies (a killed indexer never leaves a stale lock), and two :class:`FileLock` objects
conflict even inside one process. Where ``flock`` does not exist (Windows) the locks are no-ops.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from photosearch.core.library.private import open_private

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

LOCK_POLL_S = 0.2  # how often a waiting process retries a lock (flock has no time-out)


def open_lock_path(db_path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(db_path)}.lock")


def indexing_lock_path(db_path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(db_path)}.indexing.lock")


class FileLock:
    """A ``flock`` on one file, taken without blocking (callers decide how to wait)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self, shared: bool = False) -> bool:
        """Take the lock if no other holder conflicts; True when held. Raises OSError when the
        lock file cannot be created (e.g. a read-only folder)."""
        if self._fd is not None:
            return True
        fd = open_private(self.path)
        if fcntl is None:
            self._fd = fd
            return True
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        self._fd = fd
        return True

    def write_pid(self) -> None:
        """Record this process as the holder (call while holding the lock exclusively)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
            os.write(self._fd, f"{os.getpid()}\n".encode())

    def holder_pid(self) -> int | None:
        """The pid the current holder wrote, when it did."""
        try:
            text = self.path.read_text(encoding="ascii", errors="replace").strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def wait_for_lock(
    lock: FileLock,
    on_wait: Callable[[int | None], None] | None = None,
    stop_wait: Callable[[float], bool] | None = None,
    shared: bool = False,
) -> bool:
    """Take ``lock``, waiting as long as another holder keeps it. ``on_wait(pid)`` is called once
    when the wait begins. ``stop_wait(seconds)`` waits up to that long and returns True to give
    up (a stop request); without it the wait is unbounded. Returns whether the lock is held."""
    if lock.try_acquire(shared):
        return True
    if on_wait is not None:
        on_wait(lock.holder_pid())
    while True:
        if stop_wait is not None:
            if stop_wait(LOCK_POLL_S):
                return False
        else:
            time.sleep(LOCK_POLL_S)
        if lock.try_acquire(shared):
            return True


def until(deadline: float) -> Callable[[float], bool]:
    """A ``stop_wait`` for :func:`wait_for_lock` that gives up at ``deadline`` (monotonic)."""

    def stop_wait(seconds: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return True
        time.sleep(min(seconds, remaining))
        return False

    return stop_wait


class IndexingLock:
    """The indexing lock of one library, for one owner (an :class:`Indexer`): re-entrant, so
    a run that embeds inside a scan takes it once; the pid is written when it is taken."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self._lock = FileLock(indexing_lock_path(db_path))
        self._depth = 0

    def acquire(
        self,
        on_wait: Callable[[int | None], None] | None = None,
        stop_wait: Callable[[float], bool] | None = None,
    ) -> bool:
        if self._depth == 0:
            try:
                held = wait_for_lock(self._lock, on_wait, stop_wait)
            except OSError as exc:  # no lock file possible (read-only folder): go on unlocked;
                log.debug("cannot create %s: %s", self._lock.path, exc)  # writes fail anyway
                held = True
            if not held:
                return False
            self._lock.write_pid()
        self._depth += 1
        return True

    def release(self) -> None:
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth == 0:
            self._lock.release()
