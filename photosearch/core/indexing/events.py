"""File-system events -> dirty paths -> paths ready to sync (the watcher's event queue).

The observers' threads only :meth:`EventQueue.put` (no disk, no database); the watcher's worker
takes the events, marks their paths dirty, and asks :meth:`EventQueue.ready` which are ready:
after ``debounce`` seconds without events (at most ``max_delay`` after the first), once a file's
size and mtime are equal at two checks ``settle`` seconds apart and (where the platform reports
it, i.e. inotify) the process writing it has closed it. A photo still being copied is never
read half-written.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable
from typing import Any

from photosearch.core.indexing.sync import watchable

Event = tuple[str, str, str, bool]  # (kind: "dirty" | "move" | "root", src, dest, is_dir)


def parse(root: str, event: Any) -> Event | None:
    """What a watchdog event under ``root`` means, or None when it says nothing new."""
    kind = event.event_type
    src = os.fsdecode(event.src_path)
    dest = os.fsdecode(getattr(event, "dest_path", "") or "")
    if event.is_directory:
        if kind == "deleted" and src == root:
            return ("root", src, "", True)
        if kind in ("created", "deleted"):
            return ("dirty", src, "", True)
        if kind == "moved":
            return ("move", src, dest, True)
        return None  # a folder's own modified/attrib events say nothing new
    if kind == "moved":
        if not (watchable(src, root) or (dest and watchable(dest, root))):
            return None
        return ("move", src, dest, False)
    if kind in ("opened", "closed_no_write") or not watchable(src, root):
        return None
    return ("dirty", src, "", False)


class EventQueue:
    """The events received and the paths waiting to be synced. ``put`` and ``take`` hold the
    shared condition; the rest runs on the worker thread only."""

    def __init__(
        self,
        cond: threading.Condition,
        debounce: float,
        max_delay: float,
        settle: float,
        write_timeout: float,
    ) -> None:
        self._cond = cond
        self.debounce, self.max_delay, self.settle = debounce, max_delay, settle
        self.write_timeout = write_timeout
        self.events: list[Event] = []
        self._writing: dict[str, float] = {}  # files modified and not yet closed (inotify)
        self._dirty: dict[str, bool] = {}  # path -> is a folder
        self._dirty_since = 0.0
        self._last_event = 0.0
        self._unsettled: dict[str, tuple[int, int, float]] = {}  # path -> size, mtime_ns, checked

    # --- observer threads ---------------------------------------------------------------------
    def put(self, root: str, event: Any, reports_close: bool) -> bool:
        """Queue one watchdog event (the caller holds the condition); True when queued."""
        item = parse(root, event)
        if item is None:
            return False
        kind, src, dest, is_dir = event.event_type, item[1], item[2], item[3]
        if not is_dir and reports_close:
            now = time.monotonic()
            if kind == "modified":
                self._writing[src] = now
            elif kind in ("closed", "deleted"):
                self._writing.pop(src, None)
            elif kind == "moved":
                since = self._writing.pop(src, None)
                if since is not None and dest:
                    self._writing[dest] = since
        self.events.append(item)
        return True

    def take(self) -> list[Event]:
        """The events received since the last call (the caller holds the condition)."""
        events, self.events = self.events, []
        return events

    # --- the worker ---------------------------------------------------------------------------
    def absorb(self, events: list[Event], now: float) -> tuple[list[tuple[str, str]], bool]:
        """Mark the events' paths dirty; returns the moves to apply and whether a root went."""
        moves: list[tuple[str, str]] = []
        root_gone = False
        for kind, src, dest, is_dir in events:
            if kind == "root":
                root_gone = True
            elif kind == "move":
                moves.append((src, dest))
                self.mark(src, is_dir, now)
                if dest:
                    self.mark(dest, is_dir, now)
            else:
                self.mark(src, is_dir, now)
        return moves, root_gone

    def mark(self, path: str, is_dir: bool, now: float) -> None:
        if not self._dirty:
            self._dirty_since = now
        self._dirty[path] = self._dirty.get(path, False) or is_dir
        self._last_event = now

    def caught_up(self, now: float) -> None:
        """No need to wait for more events (a rescan marked what it found)."""
        self._last_event = now - self.debounce

    @property
    def settled(self) -> bool:
        return not self._dirty and not self._unsettled

    def deadline(self, latest: float) -> float:
        """When the worker must look at the paths again (``latest`` at the latest)."""
        deadline = latest
        if self._dirty:
            deadline = min(
                deadline, self._last_event + self.debounce, self._dirty_since + self.max_delay
            )
        if self._unsettled:
            deadline = min(deadline, min(c for _, _, c in self._unsettled.values()) + self.settle)
        return deadline

    def clear(self) -> None:
        with self._cond:
            self._writing.clear()
        self._dirty.clear()
        self._unsettled.clear()

    def _is_writing(self, path: str, now: float) -> bool:
        with self._cond:
            since = self._writing.get(path)
            if since is not None and now - since > self.write_timeout:
                del self._writing[path]  # a writer that keeps the file open but writes no more
                return False
            return since is not None

    def ready(self, now: float, expand: Callable[[str], list[str]]) -> list[str]:
        """Stat the dirty and unsettled paths; return those ready to sync (``expand``: the
        photos a folder event stands for).

        A deleted file is ready at once; an existing one when its size and mtime are equal at
        two checks ``settle`` seconds apart and no writer holds it open.
        """
        due: list[str] = []
        if self._dirty and (
            now - self._last_event >= self.debounce or now - self._dirty_since >= self.max_delay
        ):
            for path, is_dir in self._dirty.items():
                due.extend(expand(path) if is_dir else [path])
            self._dirty = {}
        due.extend(
            p for p, (_, _, checked) in self._unsettled.items() if now - checked >= self.settle
        )
        ready: list[str] = []
        for path in dict.fromkeys(due):
            try:
                st = os.stat(path)
            except OSError:
                self._unsettled.pop(path, None)
                ready.append(path)  # gone (or unreadable: the sync says so)
                continue
            if stat.S_ISDIR(st.st_mode):
                self._unsettled.pop(path, None)
                self.mark(path, True, now)  # a folder that was a file a moment ago
                continue
            signature = (st.st_size, st.st_mtime_ns)
            prev = self._unsettled.get(path)
            if prev is not None and prev[:2] == signature:
                if now - prev[2] < self.settle:
                    continue  # not due yet: keep the first check's time
                if not self._is_writing(path, now):
                    del self._unsettled[path]
                    ready.append(path)
                    continue
            self._unsettled[path] = (*signature, now)
        return ready
