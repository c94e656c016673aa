"""The watchdog observers that follow the watched folders, and how each folder is followed.

``native``   inotify (Linux), FSEvents (macOS), ReadDirectoryChangesW (Windows), recursive.
``polling``  watchdog's PollingObserver: for network and removable drives (``folder.use_polling``)
             and wherever no native API is available.
``rescan``   the inotify watch limit was reached: the folder is rescanned every
             ``rescan_interval`` seconds instead (a clear warning says how to raise the limit).
``offline``  the folder's root cannot be read (unmounted drive): not followed until it returns.

The observers only hand each event to ``on_event(root, event, reports_close)`` (on their own
threads); what the events mean is :mod:`photosearch.core.indexing.events`'s business.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from photosearch.core.indexing.scanner import folder_problem
from photosearch.core.library.rows import Folder

log = logging.getLogger(__name__)

MODES = ("native", "polling", "rescan", "offline")

EventSink = Callable[[str, Any, bool], None]  # (root, watchdog event, reports_close)


@dataclass
class Watch:
    folder: Folder
    mode: str  # one of MODES
    observer: Any = None
    watch: Any = None
    next_rescan: float = 0.0


class _Handler:
    """Receives one folder's watchdog events (on an observer thread) and passes them on."""

    def __init__(self, on_event: EventSink, root: str, reports_close: bool = False) -> None:
        self.on_event = on_event
        self.root = root
        self.reports_close = reports_close  # inotify says when a writer closes a file

    def dispatch(self, event: Any) -> None:
        try:
            self.on_event(self.root, event, self.reports_close)
        except Exception:  # never let a bug kill the observer thread
            log.exception("error handling file-system event %r", event)


class OverflowHook(logging.Handler):
    """watchdog reports a kernel event-queue overflow only as a log line: call ``on_overflow``."""

    def __init__(self, on_overflow: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self.on_overflow = on_overflow

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.on_overflow()

    def install(self) -> None:
        logging.getLogger("watchdog.observers").addHandler(self)

    def remove(self) -> None:
        logging.getLogger("watchdog.observers").removeHandler(self)


class Observers:
    """One native and one polling observer shared by every folder; ``watches`` (folder id ->
    :class:`Watch`) says how each folder is followed. Thread-safe."""

    def __init__(self, on_event: EventSink, poll_interval: float, rescan_interval: float) -> None:
        self.on_event = on_event
        self.poll_interval = poll_interval
        self.rescan_interval = rescan_interval
        self.watches: dict[int, Watch] = {}
        self._lock = threading.Lock()
        self._native: Any = None
        self._native_failed = False
        self._polling: Any = None

    def modes(self) -> dict[str, str]:
        """Folder path -> how it is followed."""
        with self._lock:
            return {w.folder.path: w.mode for w in self.watches.values()}

    def roots(self) -> list[str]:
        with self._lock:
            return [w.folder.path for w in self.watches.values()]

    def online(self) -> list[Folder]:
        with self._lock:
            return [w.folder for w in self.watches.values() if w.mode != "offline"]

    def all(self) -> list[Watch]:
        with self._lock:
            return list(self.watches.values())

    def forget(self, folder_id: int) -> Watch:
        """Stop following a folder that left the library."""
        with self._lock:
            gone = self.watches.pop(folder_id)
        self.unwatch(gone)
        return gone

    def watch(self, folder: Folder) -> None:
        """Follow ``folder``: natively, by polling, by periodic rescans, or not at all while it
        cannot be read (offline)."""
        w = Watch(folder, "offline")
        with self._lock:
            self.watches[folder.id] = w
        problem = folder_problem(folder.path)
        if problem is not None:
            log.warning("folder offline (%s): %s", problem, folder.path)
            return
        if not folder.use_polling and self._watch_natively(w):
            return
        try:
            observer = self._polling_observer()
            w.watch = observer.schedule(
                _Handler(self.on_event, folder.path), folder.path, recursive=True
            )
            w.observer, w.mode = observer, "polling"
            log.info("watching %s by polling every %.0fs", folder.path, self.poll_interval)
        except OSError as exc:
            log.warning("cannot watch %s (%s): rescanning it instead", folder.path, exc)
            self._rescan_instead(w)

    def _watch_natively(self, w: Watch) -> bool:
        """Watch through the platform's file events; False: poll instead (no native observer,
        or it refused this folder)."""
        observer = self._native_observer()
        if observer is None:
            return False
        path = w.folder.path
        closes = type(observer).__name__ == "InotifyObserver"
        try:
            w.watch = observer.schedule(_Handler(self.on_event, path, closes), path, recursive=True)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                log.warning("cannot watch %s natively (%s): polling it instead", path, exc)
                return False
            log.warning(
                "inotify watch limit reached (fs.inotify.max_user_watches = %s) while watching "
                "%s: it will be rescanned every %.0fs instead. To watch it live, raise the "
                "limit, e.g. `sudo sysctl fs.inotify.max_user_watches=524288` (persist it in "
                "/etc/sysctl.d/).",
                _read_limit("max_user_watches"),
                path,
                self.rescan_interval,
            )
            self._rescan_instead(w)
            return True
        w.observer, w.mode = observer, "native"
        log.info("watching %s (%s)", path, type(observer).__name__)
        return True

    def _rescan_instead(self, w: Watch) -> None:
        w.mode = "rescan"
        w.next_rescan = time.monotonic() + self.rescan_interval

    def unwatch(self, w: Watch) -> None:
        if w.observer is not None and w.watch is not None:
            try:
                w.observer.unschedule(w.watch)
            except Exception as exc:  # the watch may already be gone with its folder
                log.debug("unschedule %s: %s", w.folder.path, exc)
        w.observer = w.watch = None
        w.mode = "offline"

    def _native_observer(self) -> Any:
        if self._native is None and not self._native_failed:
            from watchdog.observers import Observer
            from watchdog.observers.polling import PollingObserver

            if Observer is PollingObserver:
                log.info("no native file-system notification API here: polling every folder")
                self._native_failed = True
                return None
            try:
                observer = Observer()
                observer.daemon = True
                observer.start()
            except OSError as exc:  # e.g. the inotify instance limit
                log.warning("file-system notifications unavailable (%s): polling instead", exc)
                self._native_failed = True
                return None
            self._native = observer
        return self._native

    def _polling_observer(self) -> Any:
        if self._polling is None:
            from watchdog.observers.polling import PollingObserverVFS

            # lstat: the poller never walks through a symbolic link (one to / would make it
            # crawl the whole system every poll); the scan decides which links to follow.
            observer = PollingObserverVFS(os.lstat, os.scandir, polling_interval=self.poll_interval)
            observer.daemon = True
            observer.start()
            self._polling = observer
        return self._polling

    def stop(self) -> None:
        for observer in (self._native, self._polling):
            if observer is None:
                continue
            try:
                observer.stop()
                observer.join(5)
            except Exception:
                log.exception("stopping the file-system observer")
        self._native = self._polling = None
        self._native_failed = False
        with self._lock:
            for w in self.watches.values():
                w.observer = w.watch = None
            self.watches.clear()


def _read_limit(name: str) -> str:
    try:
        with open(f"/proc/sys/fs/inotify/{name}") as f:
            return f.read().strip()
    except OSError:
        return "?"
