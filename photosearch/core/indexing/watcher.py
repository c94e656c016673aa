"""The background indexing service: follow the watched folders and keep the library in sync.

    file-system events (watchdog observers, one thread each)
        -> a queue (the event handlers only append; they never touch the disk or the database)
        -> the service's worker thread: coalesce, debounce, wait until files are complete,
           apply moves as path updates, register what changed (:func:`sync_paths`), embed
           what is pending (:meth:`Indexer.embed_pending`), all through the library's one writer.

On start the worker does a quick rescan (:func:`~photosearch.core.indexing.scanner.sync_folders`, size and
mtime only) to catch what changed while the service was not running, then waits for events.

How a folder is followed (see :meth:`WatchService.watch_modes`):

``native``   inotify (Linux), FSEvents (macOS), ReadDirectoryChangesW (Windows), recursive.
``polling``  watchdog's PollingObserver: for network and removable drives (``folder.use_polling``)
             and wherever no native API is available.
``rescan``   the inotify watch limit was reached: the folder is rescanned every
             ``rescan_interval`` seconds instead (a clear warning says how to raise the limit).
``offline``  the folder's root is gone (unmounted drive): its photos are kept with status
             ``offline``; the root is checked every ``check_interval`` seconds and the folder
             comes back, with its embeddings, when it returns.

A file is read only once its size and mtime are equal across two checks ``settle`` seconds apart,
and (where the platform reports it, i.e. inotify) once the process writing it has closed it, so
a photo still being copied is never embedded half-written. Renames and moves reported by the
observer update the stored path directly (no re-embedding); a move the observer could not pair
(across file systems, or out of and back into the folders) is still recognised by content hash.

Throttling, so that a GUI in the same process stays responsive: the worker thread lowers its own
scheduling priority (``nice``, per thread on Linux; the decode threads and the model's OpenMP
threads it starts inherit it), decodes with at most half the cores, and sleeps ``batch_pause``
seconds between inference batches. The database writer thread is not lowered, so commits (and
the GUI's own writes) are never starved. The encoder's torch thread count is already limited
(:func:`photosearch.core.vision.encoder.configure_threads`, ``PHOTOSEARCH_TORCH_THREADS``).

Damage that queries never read goes unnoticed, so on start, and then whenever it falls due, the
service runs ``PRAGMA quick_check`` over the whole file if the last clean check is older than
``integrity_check_days`` (:data:`~photosearch.core.library.store.INTEGRITY_CHECK_DAYS`; the time is kept
in the library's meta table). Damage, found by that check or by any query, stops the service
(state ``error``, :attr:`WatchService.error` a ``DatabaseCorruptError``): writing on could only
make it worse.

Callbacks (``on_progress``, ``on_change``, ``on_state``) are plain callables invoked on the worker
thread; they must return quickly (a GUI forwards them as queued Qt signals). No Qt here.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from photosearch.core.indexing.indexer import Controls, Encoder, Indexer, Progress, SemanticEmbedder
from photosearch.core.indexing.scanner import (
    Changes,
    FileEntry,
    LinkPolicy,
    ScanResult,
    apply_changes,
    folder_available,
    folder_problem,
    is_hidden,
    sync_folders,
    walk_photos,
)
from photosearch.core.library.db import Database, DatabaseCorruptError
from photosearch.core.library.store import (
    INTEGRITY_CHECK_DAYS,
    PHOTO_COLUMNS,
    Folder,
    Library,
    Photo,
    bump_seq,
    delete_vectors,
    note_deleted_photos,
    path_from_db,
    path_to_db,
    photo_from_row,
)
from photosearch.core.library.writer import WriterClosedError
from photosearch.core.vision.imageio import is_supported

log = logging.getLogger(__name__)

MODES = ("native", "polling", "rescan", "offline")
STATES = ("stopped", "starting", "scanning", "indexing", "watching", "paused", "error")


@dataclass(frozen=True)
class Change:
    """What one step of the service changed in the library (for ``on_change``)."""

    reason: str  # "scan" (full rescan) | "sync" (changed paths) | "move" | "embed" | "folders"
    seq: int  # the library's change counter afterwards (Library.seq())
    added: int = 0
    updated: int = 0
    moved: int = 0
    missing: int = 0
    offline: int = 0
    restored: int = 0
    embedded: int = 0
    errors: int = 0

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.updated
            or self.moved
            or self.missing
            or self.offline
            or self.restored
            or self.embedded
            or self.errors
        )


# --- helpers usable without the service ------------------------------------------------------
def _owner(path: str, folders: Sequence[Folder]) -> Folder | None:
    """The watched folder holding ``path`` (the deepest one when folders are nested)."""
    best: Folder | None = None
    for folder in folders:
        root = folder.path
        if (path == root or path.startswith(root.rstrip(os.sep) + os.sep)) and (
            best is None or len(root) > len(best.path)
        ):
            best = folder
    return best


def _watchable(path: str, root: str) -> bool:
    """A supported image file, not inside a hidden or system folder of ``root``."""
    if not is_supported(path) or path == root:
        return False
    rel = path[len(root.rstrip(os.sep)) + 1 :]
    return not any(is_hidden(part) for part in rel.split(os.sep))


def _prefix_range(folder: str) -> tuple[str, str]:
    """SQL bounds (``path >= lo AND path < hi``) of the paths strictly inside ``folder``."""
    base = folder.rstrip(os.sep)
    return base + os.sep, base + chr(ord(os.sep) + 1)


def paths_under(db: Database, folder: str) -> list[str]:
    """Stored photo paths inside ``folder`` (any depth), whatever their status."""
    lo, hi = _prefix_range(folder)
    return [
        path_from_db(r[0])
        for r in db.query("SELECT path FROM photos WHERE path >= ? AND path < ?", (lo, hi))
    ]


def sync_paths(
    library: Library,
    paths: Iterable[str],
    folders: Sequence[Folder] | None = None,
    model_id: str | None = None,
) -> ScanResult:
    """Bring the rows of just these files in line with the disk (the targeted form of
    :func:`~photosearch.core.indexing.scanner.sync_folders`).

    Each path is stat-ed: a new file is registered pending, a changed one (its stat signature,
    then its content hash, see :class:`~photosearch.core.indexing.scanner.Changes`; or a previous error)
    goes back to pending, a returning one is restored, a vanished one is marked missing, one
    that cannot be read goes offline. A new file with the size and content hash of a vanished or
    missing photo is that photo moved: it keeps its embedding. Paths outside the watched
    folders, hidden or unsupported ones, ones reached through a symbolic link the scan does not
    follow, and paths of folders that are offline are ignored.
    """
    folders = list(folders) if folders is not None else library.folders()
    links = LinkPolicy(f.path for f in folders)
    result = ScanResult()
    seen: dict[str, tuple[int, FileEntry | None]] = {}
    unreadable: dict[str, str] = {}
    available: dict[int, bool] = {}
    for path in dict.fromkeys(paths):
        folder = _owner(path, folders)
        if folder is None or not _watchable(path, folder.path):
            continue
        if folder.id not in available:
            available[folder.id] = folder_available(folder)
        if not available[folder.id]:
            continue
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            seen[path] = (folder.id, None)
            continue
        except OSError as exc:
            result.problems.append((path, f"cannot read: {exc.strerror or exc}"))
            if exc.errno != errno.ELOOP:
                unreadable[path] = f"cannot read: {exc.strerror or exc}"
            continue
        if not stat.S_ISREG(st.st_mode):
            result.problems.append((path, "not a regular file"))
            continue
        if _through_link(path, folder.path):
            verdict = links.verdict(path, False)
            if verdict is not None:
                if verdict:
                    result.problems.append((path, verdict))
                continue
        seen[path] = (folder.id, FileEntry.from_stat(path, st))
    if not seen and not unreadable:
        return result

    db = library.reader()
    rows: dict[str, Photo] = {}
    wanted = [*seen, *unreadable]
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for r in db.query(
            f"SELECT {PHOTO_COLUMNS} FROM photos WHERE path IN ({marks})",
            [path_to_db(p) for p in chunk],
        ):
            found = photo_from_row(r)
            rows[found.path] = found

    changes = Changes()
    for path, (folder_id, entry) in seen.items():
        row = rows.get(path)
        if entry is not None:
            # an error is retried when the file is touched
            changes.sort(folder_id, row, entry, model_id, retry_error=True)
        elif row is not None and row.status not in ("missing", "offline"):
            changes.vanished.append(row)
    for path, reason in unreadable.items():
        if path in rows:
            changes.cannot_read(rows[path], reason)
    changes.recheck(model_id)
    changes.vanished.extend(_gone_without_event(db, changes.new, changes.vanished, seen, folders))
    moves = apply_changes(library, db, changes, model_id)
    changes.count_into(result, moves)
    return result


def _through_link(path: str, root: str) -> bool:
    """Whether ``path`` (below ``root``) is reached through a symbolic link."""
    nominal = os.path.join(os.path.realpath(root), os.path.relpath(path, root))
    return os.path.realpath(path) != nominal


def _gone_without_event(
    db: Database,
    new: list[tuple[int, FileEntry]],
    vanished: list[Photo],
    seen: dict[str, Any],
    folders: Sequence[Folder],
) -> list[Photo]:
    """Photos of the same size as a new file whose own file is gone, not yet marked missing.

    The observer reports a move it could not pair (e.g. into a folder created a moment before)
    as a delete and a create, and the delete may come later than the create: the new file must
    still be recognised as the moved photo, not embedded again.
    """
    sizes = sorted({entry.size for _, entry in new})
    online = {f.id for f in folders if folder_available(f)}
    known = {row.id for row in vanished}
    found: list[Photo] = []
    for start in range(0, len(sizes), 500):
        chunk = sizes[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for r in db.query(
            f"SELECT {PHOTO_COLUMNS} FROM photos WHERE size IN ({marks}) "
            "AND status IN ('indexed', 'pending', 'error') AND content_hash IS NOT NULL",
            chunk,
        ):
            row = photo_from_row(r)
            if (
                row.folder_id in online
                and row.id not in known
                and row.path not in seen
                and not os.path.lexists(row.path)
            ):
                found.append(row)
    return found


def apply_moves(
    library: Library, moves: Sequence[tuple[str, str]], folders: Sequence[Folder] | None = None
) -> int:
    """Apply renames/moves reported by the observer (file or folder ``src`` -> ``dest``) as path
    updates, in order, in one transaction. The photos keep their rows, ids and embeddings.

    A destination outside the watched folders (or hidden, or not a supported image) is not
    applied: the source then vanishes at the next :func:`sync_paths` and is marked missing.
    Returns how many photo rows were moved.
    """
    folders = list(folders) if folders is not None else library.folders()

    def apply(db: Database) -> int:
        seq: int | None = None
        count = 0
        for src, dest in moves:
            target = _owner(dest, folders) if dest else None
            if target is None:
                continue
            lo, hi = _prefix_range(src)
            found = db.query(
                "SELECT id, path FROM photos WHERE status != 'missing' AND "
                "(path = ? OR (path >= ? AND path < ?))",
                (path_to_db(src), lo, hi),
            )
            for photo_id, stored in found:
                old = path_from_db(stored)
                new = dest + old[len(src) :]
                if not _watchable(new, target.path):
                    continue
                if seq is None:
                    seq = bump_seq(db)
                clash = db.scalar(
                    "SELECT id FROM photos WHERE path = ? AND id != ?", (path_to_db(new), photo_id)
                )
                if clash is not None:  # renamed over another photo: that one is gone
                    delete_vectors(db, [clash])
                    db.execute("DELETE FROM photos WHERE id = ?", (clash,))
                    note_deleted_photos(db, seq)
                db.execute(
                    "UPDATE photos SET path = ?, folder_id = ?, seq = ? WHERE id = ?",
                    (path_to_db(new), target.id, seq, photo_id),
                )
                count += 1
        return count

    return int(library.write(apply)) if moves else 0


# --- the service ----------------------------------------------------------------------------
@dataclass
class _Watch:
    folder: Folder
    mode: str  # one of MODES
    observer: Any = None
    watch: Any = None
    next_rescan: float = 0.0


class _Handler:
    """Receives one folder's watchdog events (on an observer thread) and queues them."""

    def __init__(self, service: WatchService, root: str, reports_close: bool = False) -> None:
        self.service = service
        self.root = root
        self.reports_close = reports_close  # inotify says when a writer closes a file

    def dispatch(self, event: Any) -> None:
        try:
            self.service._on_fs_event(self.root, event, self.reports_close)
        except Exception:  # never let a bug kill the observer thread
            log.exception("error handling file-system event %r", event)


class _OverflowHook(logging.Handler):
    """watchdog reports a kernel event-queue overflow only as a log line: rescan on it."""

    def __init__(self, service: WatchService) -> None:
        super().__init__(logging.WARNING)
        self.service = service

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            self.service._request(overflow=True)


class WatchService:
    """Follows the library's folders and indexes what changes, on one background thread.

    ``encoder_factory()`` is called once, on the worker thread (importing torch is slow);
    ``semantic_factory()`` likewise (it may return None). All public methods are thread-safe.
    Timing parameters are in seconds.
    """

    def __init__(
        self,
        library: Library,
        encoder_factory: Callable[[], Encoder],
        semantic_factory: Callable[[], SemanticEmbedder | None] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_change: Callable[[Change], None] | None = None,
        on_state: Callable[[str], None] | None = None,
        *,
        debounce: float = 0.3,
        max_delay: float = 2.0,
        settle: float = 0.5,
        write_timeout: float = 60.0,
        check_interval: float = 5.0,
        rescan_interval: float = 60.0,
        poll_interval: float = 10.0,
        batch_size: int = 32,
        decode_workers: int | None = None,
        nice: int = 10,
        batch_pause: float = 0.02,
        integrity_check_days: float | None = INTEGRITY_CHECK_DAYS,
    ) -> None:
        self.library = library
        self.encoder_factory = encoder_factory
        self.semantic_factory = semantic_factory
        self.on_progress = on_progress
        self.on_change = on_change
        self.on_state = on_state
        self.debounce, self.max_delay, self.settle = debounce, max_delay, settle
        self.write_timeout = write_timeout
        self.check_interval, self.rescan_interval = check_interval, rescan_interval
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.decode_workers = decode_workers or max(1, min(4, (os.cpu_count() or 2) // 2))
        self.nice = nice
        self.batch_pause = batch_pause
        self.integrity_check_days = integrity_check_days
        self._next_integrity_check = 0.0  # time.time() of the next due check
        self.error: BaseException | None = None
        self.indexer: Indexer | None = None

        self._cond = threading.Condition()
        self._events: list[tuple[str, str, str, bool]] = []  # (kind, src, dest, is_dir)
        self._writing: dict[str, float] = {}  # files modified and not yet closed (inotify)
        self._requests: set[str] = set()
        self._state = "stopped"
        self._idle = False
        self._thread: threading.Thread | None = None
        self._controls = Controls()
        self._stopping = False
        self._paused = False
        self._watches: dict[int, _Watch] = {}
        self._native: Any = None
        self._native_failed = False
        self._polling: Any = None
        self._overflow_hook: _OverflowHook | None = None
        self._last_change = 0.0
        # worker-only state
        self._dirty: dict[str, bool] = {}  # path -> is a folder
        self._dirty_since = 0.0
        self._last_event = 0.0
        self._unsettled: dict[str, tuple[int, int, float]] = {}  # path -> size, mtime_ns, checked

    # --- public API ----------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def paused(self) -> bool:
        return self._paused

    def start(self) -> None:
        """Start watching and indexing in the background (returns at once)."""
        if self.running:
            return
        with self._cond:
            self._stopping = False
            self._idle = False
            self._events.clear()
            self._requests.clear()
            self.error = None
        self._controls = Controls()
        if self._paused:
            self._controls.pause()
        self._set_state("starting")
        self._thread = threading.Thread(target=self._run, name="photosearch-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop cleanly: the batch being encoded is committed or left pending, nothing is lost.
        Changes after this are picked up by the rescan of the next :meth:`start`."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._controls.stop()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the watch service did not stop within %.0fs", timeout or 0)

    def pause(self) -> None:
        """Stop using the CPU for embedding (events are still recorded; cheap)."""
        self._paused = True
        self._controls.pause()
        self._set_state("paused")

    def resume(self) -> None:
        self._paused = False
        self._controls.resume()
        self._request(wake=True)

    def rescan(self) -> None:
        """Rescan every folder (size + mtime) at the next opportunity."""
        self._request(rescan=True)

    def add_folder(self, path: str | os.PathLike[str], use_polling: bool = False) -> Folder:
        """Add a folder to the library and start following it."""
        folder = self.library.add_folder(path, use_polling=use_polling)
        self._request(folders=True)
        return folder

    def remove_folder(self, path: str | os.PathLike[str]) -> bool:
        """Stop following a folder and forget its photos (files are never touched)."""
        removed = self.library.remove_folder(path)
        if removed:
            self._request(folders=True)
        return removed

    def refresh_folders(self) -> None:
        """Re-read the folder list (after folders were added or changed by other code)."""
        self._request(folders=True)

    def watch_modes(self) -> dict[str, str]:
        """Folder path -> how it is followed: "native", "polling", "rescan" or "offline"."""
        with self._cond:
            return {w.folder.path: w.mode for w in self._watches.values()}

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every event received so far is handled and nothing is pending; True if so.

        Events still in flight in the kernel or the observer are not known yet: wait for the
        condition you expect (e.g. a photo's status) rather than on this alone.
        """
        with self._cond:
            return bool(
                self._cond.wait_for(lambda: self._idle or not self.running, timeout) and self._idle
            )

    # --- event intake (observer threads) --------------------------------------------------
    def _request(self, **flags: bool) -> None:
        with self._cond:
            self._requests.update(k for k, v in flags.items() if v)
            self._idle = False
            self._cond.notify_all()

    def _on_fs_event(self, root: str, event: Any, reports_close: bool = False) -> None:
        kind = event.event_type
        src = os.fsdecode(event.src_path)
        dest = os.fsdecode(getattr(event, "dest_path", "") or "")
        if event.is_directory:
            if kind == "deleted" and src == root:
                item = ("root", src, "", True)
            elif kind in ("created", "deleted"):
                item = ("dirty", src, "", True)
            elif kind == "moved":
                item = ("move", src, dest, True)
            else:
                return  # a folder's own modified/attrib events say nothing new
        elif kind == "moved":
            if not (_watchable(src, root) or (dest and _watchable(dest, root))):
                return
            item = ("move", src, dest, False)
        else:
            if kind in ("opened", "closed_no_write") or not _watchable(src, root):
                return
            item = ("dirty", src, "", False)
        now = time.monotonic()
        with self._cond:
            if item[3] is False and reports_close:
                if kind == "modified":
                    self._writing[src] = now
                elif kind in ("closed", "deleted"):
                    self._writing.pop(src, None)
                elif kind == "moved":
                    since = self._writing.pop(src, None)
                    if since is not None and dest:
                        self._writing[dest] = since
            self._events.append(item)
            self._idle = False
            self._cond.notify_all()

    # --- the worker ----------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        if state == self._state:
            return
        self._state = state
        if self.on_state is not None:
            try:
                self.on_state(state)
            except Exception:
                log.exception("on_state callback failed")

    def _emit_change(self, change: Change) -> None:
        if change.empty:
            return
        if self.on_change is not None:
            try:
                self.on_change(change)
            except Exception:
                log.exception("on_change callback failed")

    def _change(self, reason: str, scan: ScanResult | None = None, **counts: int) -> Change:
        if scan is not None:
            counts = {
                "added": scan.added,
                "updated": scan.updated,
                "moved": scan.moved,
                "missing": scan.missing,
                "offline": scan.offline,
                "restored": scan.restored,
                **counts,
            }
        change = Change(reason, self.library.seq(), **counts)
        self._emit_change(change)
        return change

    def _run(self) -> None:
        try:
            self._check_integrity_if_due()  # before the model loads: a damaged file stops here
            self._lower_priority()
            self._overflow_hook = _OverflowHook(self)
            logging.getLogger("watchdog.observers").addHandler(self._overflow_hook)
            self._sync_watches(initial=True)
            encoder = self.encoder_factory()
            semantic = self.semantic_factory() if self.semantic_factory is not None else None
            self.indexer = Indexer(
                self.library,
                encoder,
                semantic,
                batch_size=self.batch_size,
                decode_workers=self.decode_workers,
                controls=self._controls,
            )
            self.indexer.prepare()
            if not self._stopping:
                self._full_scan()
            self._loop()
        except DatabaseCorruptError as exc:
            log.error("the watch service stopped: %s", exc)
            self.error = exc
            self._set_state("error")
        except Exception as exc:
            log.exception("the watch service stopped on an error")
            self.error = exc
            self._set_state("error")
        finally:
            self._stop_observers()
            if self._overflow_hook is not None:
                logging.getLogger("watchdog.observers").removeHandler(self._overflow_hook)
            with self._cond:
                self._idle = False
                self._cond.notify_all()
            if self.error is None:
                self._set_state("stopped")
            log.info("watch service stopped")

    def _lower_priority(self) -> None:
        if self.nice <= 0 or not sys.platform.startswith("linux"):
            return  # elsewhere setpriority would lower the whole process (the GUI too)
        try:
            tid = threading.get_native_id()
            os.setpriority(
                os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + self.nice)
            )
        except (OSError, AttributeError) as exc:
            log.debug("cannot lower the indexing priority: %s", exc)

    @property
    def _model_id(self) -> str | None:
        return self.indexer.encoder.model_id if self.indexer is not None else None

    def _loop(self) -> None:
        next_check = time.monotonic() + self.check_interval
        backoff = 1.0
        while True:
            with self._cond:
                if self._stopping:
                    return
                events, self._events = self._events, []
                requests, self._requests = self._requests, set()
            try:
                next_check, busy = self._step(events, requests, next_check)
                backoff = 1.0
            except WriterClosedError:
                log.warning("the library was closed: the watch service stops")
                return
            except DatabaseCorruptError:
                raise  # writing on into a damaged file can only make it worse
            except Exception:
                # e.g. the database locked by another program for longer than its timeout:
                # the events taken are lost, so rescan everything once it works again
                log.exception("watch service step failed; retrying in %.0fs", backoff)
                with self._cond:
                    self._requests.add("rescan")
                    self._cond.wait_for(lambda: self._stopping, backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            if not busy:
                self._wait(next_check)

    def _step(
        self, events: list[tuple[str, str, str, bool]], requests: set[str], next_check: float
    ) -> tuple[float, bool]:
        """One round of work; returns the next periodic check time and whether to go on at
        once (more may be pending) rather than wait."""
        now = time.monotonic()
        self._check_integrity_if_due()
        if events:
            self._take_events(events, now)
        if "folders" in requests or "root" in requests or now >= next_check:
            self._check_folders(now)
            next_check = now + self.check_interval
        if "rescan" in requests:
            self._full_scan()
        elif "overflow" in requests:
            log.warning("the kernel dropped file-system events: rescanning the folders")
            for w in list(self._watches.values()):
                if w.mode == "native":
                    self._diff_folder(w.folder)
        ready = self._check_paths(time.monotonic())
        if ready:
            self._sync(ready)
        busy = not self._paused and self._has_pending() and self._embed() > 0
        return next_check, busy

    def _check_integrity_if_due(self) -> None:
        """Every ``integrity_check_days``: a quick check of the whole file, which raises
        DatabaseCorruptError on damage (the time of the last clean check is in the library)."""
        days = self.integrity_check_days
        if days is None or time.time() < self._next_integrity_check:
            return
        if self.library.integrity_check_due(days):
            log.info("checking the library file for damage (every %g days)", days)
            self.library.check_integrity()
        self._next_integrity_check = time.time() + min(days * 86400, 3600.0)

    def _wait(self, next_check: float) -> None:
        now = time.monotonic()
        deadline = next_check
        if self._dirty:
            deadline = min(
                deadline,
                self._last_event + self.debounce,
                self._dirty_since + self.max_delay,
            )
        if self._unsettled:
            deadline = min(deadline, min(c for _, _, c in self._unsettled.values()) + self.settle)
        idle = not self._dirty and not self._unsettled and not self._has_pending()
        self._set_state("paused" if self._paused else "watching")
        with self._cond:
            if self._stopping or self._events or self._requests:
                return
            if idle and not self._idle:
                self._idle = True
                self._cond.notify_all()
            self._cond.wait(max(0.0, deadline - now))

    def _has_pending(self) -> bool:
        return (
            self.library.reader().scalar("SELECT 1 FROM photos WHERE status = 'pending' LIMIT 1")
            is not None
        )

    # --- events -> dirty paths -> settled paths -------------------------------------------
    def _take_events(self, events: list[tuple[str, str, str, bool]], now: float) -> None:
        moves: list[tuple[str, str]] = []
        for kind, src, dest, is_dir in events:
            if kind == "root":
                self._request(root=True)
            elif kind == "move":
                moves.append((src, dest))
                self._mark(src, is_dir, now)
                if dest:
                    self._mark(dest, is_dir, now)
            else:
                self._mark(src, is_dir, now)
        if moves:
            folders = [w.folder for w in self._watches.values() if w.mode != "offline"]
            moved = apply_moves(self.library, moves, folders)
            if moved:
                log.info("moved %d photo(s) (embeddings kept)", moved)
                self._change("move", moved=moved)

    def _mark(self, path: str, is_dir: bool, now: float) -> None:
        if not self._dirty:
            self._dirty_since = now
        self._dirty[path] = self._dirty.get(path, False) or is_dir
        self._last_event = now

    def _expand(self, path: str) -> list[str]:
        """A folder event stands for every photo under it, on disk or in the library."""
        roots = self._roots()
        found = [e.path for e in walk_photos(path, roots=roots)] if os.path.isdir(path) else []
        return found + paths_under(self.library.reader(), path)

    def _is_writing(self, path: str, now: float) -> bool:
        with self._cond:
            since = self._writing.get(path)
            if since is not None and now - since > self.write_timeout:
                del self._writing[path]  # a writer that keeps the file open but writes no more
                return False
            return since is not None

    def _check_paths(self, now: float) -> list[str]:
        """Stat the dirty and unsettled paths; return those ready to sync.

        A deleted file is ready at once; an existing one when its size and mtime are equal at
        two checks ``settle`` seconds apart and no writer holds it open.
        """
        due: list[str] = []
        if self._dirty and (
            now - self._last_event >= self.debounce or now - self._dirty_since >= self.max_delay
        ):
            for path, is_dir in self._dirty.items():
                due.extend(self._expand(path) if is_dir else [path])
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
                ready.append(path)  # gone (or unreadable: sync_paths says so)
                continue
            if stat.S_ISDIR(st.st_mode):
                self._unsettled.pop(path, None)
                self._mark(path, True, now)  # a folder that was a file a moment ago
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

    # --- library updates ------------------------------------------------------------------
    def _roots(self) -> list[str]:
        with self._cond:
            return [w.folder.path for w in self._watches.values()]

    def _online_folders(self) -> list[Folder]:
        return [w.folder for w in self._watches.values() if w.mode != "offline"]

    def _sync(self, paths: list[str]) -> None:
        folders = self._online_folders()
        if any(not folder_available(f) for f in folders):
            self._check_folders(time.monotonic())
            folders = self._online_folders()
        result = sync_paths(self.library, paths, folders, self._model_id)
        for path, message in result.problems:
            log.warning("skipped %s: %s", path, message)
        change = self._change("sync", result)
        if not change.empty:
            log.info(
                "%d new, %d changed, %d moved, %d restored, %d removed",
                result.added,
                result.updated,
                result.moved,
                result.restored,
                result.missing,
            )

    def _full_scan(self, folders: list[Folder] | None = None) -> None:
        self._set_state("scanning")
        started = time.monotonic()

        def progress(n: int) -> None:
            self._progress(Progress("scan", n, 0))

        result = sync_folders(self.library, folders, self._model_id, progress)
        change = self._change("scan", result)
        log.info(
            "rescan of %s in %.1fs: %d new, %d changed, %d moved, %d restored, %d missing, "
            "%d offline, %d unchanged",
            "all folders" if folders is None else ", ".join(f.path for f in folders),
            time.monotonic() - started,
            change.added,
            change.updated,
            change.moved,
            change.restored,
            change.missing,
            change.offline,
            result.unchanged,
        )

    def _embed(self) -> int:
        """Embed what is pending; returns how many photos were handled."""
        assert self.indexer is not None
        self._set_state("indexing")
        started = time.monotonic()
        embedded, errors = self.indexer.embed_pending(self._on_embed_progress)
        if embedded or errors:
            log.info(
                "indexed %d photo(s)%s in %.1fs",
                embedded,
                f", {errors} error(s)" if errors else "",
                time.monotonic() - started,
            )
            self._change("embed", embedded=embedded, errors=errors)
        return embedded + errors

    def _on_embed_progress(self, progress: Progress) -> None:
        self._progress(progress)
        if progress.phase != "embed":
            return
        now = time.monotonic()
        if now - self._last_change >= 0.25:  # live updates for the grid, at most 4 a second
            self._last_change = now
            self._change("embed", embedded=progress.done - progress.errors, errors=progress.errors)
        if self.batch_pause > 0 and not self._stopping:
            time.sleep(self.batch_pause)

    def _progress(self, progress: Progress) -> None:
        if self.on_progress is not None:
            try:
                self.on_progress(progress)
            except Exception:
                log.exception("on_progress callback failed")

    # --- folders and observers ------------------------------------------------------------
    def _check_folders(self, now: float) -> None:
        """Follow added/removed folders, offline/online transitions and periodic rescans."""
        self._sync_watches()
        back: list[Folder] = []
        for w in list(self._watches.values()):
            available = folder_available(w.folder)
            if w.mode == "offline" and available:
                log.info("folder is back: %s", w.folder.path)
                self._unwatch(w)
                self._watch(w.folder)
                back.append(w.folder)
            elif w.mode != "offline" and not available:
                self._unwatch(w)
                w.mode = "offline"
                result = sync_folders(self.library, [w.folder], self._model_id)
                self._change("folders", result)
            elif w.mode == "rescan" and now >= w.next_rescan:
                w.next_rescan = now + self.rescan_interval
                self._diff_folder(w.folder)
        if back:
            self._full_scan(back)

    def _diff_folder(self, folder: Folder) -> None:
        """A rescan without events: every file whose stat signature differs from its row is
        dirty (and then waits to be stable like any other)."""
        now = time.monotonic()
        rows: dict[str, Photo] = {}
        for r in self.library.reader().query(
            f"SELECT {PHOTO_COLUMNS} FROM photos WHERE folder_id = ?", (folder.id,)
        ):
            stored = photo_from_row(r)
            rows[stored.path] = stored
        on_disk = set()
        for entry in walk_photos(folder.path, roots=self._roots()):
            on_disk.add(entry.path)
            row = rows.get(entry.path)
            if row is None or not row.matches(entry) or row.status in ("missing", "offline"):
                self._mark(entry.path, False, now)
        for path, row in rows.items():
            if path not in on_disk and row.status not in ("missing", "offline"):
                self._mark(path, False, now)
        self._last_event = now - self.debounce  # no need to wait for more events

    def _sync_watches(self, initial: bool = False) -> None:
        folders = {f.id: f for f in self.library.folders()}
        for fid in [fid for fid in self._watches if fid not in folders]:
            with self._cond:
                gone = self._watches.pop(fid)
            self._unwatch(gone)
            log.info("no longer watching %s", gone.folder.path)
        added: list[Folder] = []
        for fid, folder in folders.items():
            w = self._watches.get(fid)
            if w is not None and w.folder.use_polling == folder.use_polling:
                continue
            if w is not None:
                self._unwatch(w)
            self._watch(folder)
            if w is None:
                added.append(folder)
        if added and not initial:
            self._full_scan(added)

    def _watch(self, folder: Folder) -> None:
        w = _Watch(folder, "offline")
        with self._cond:
            self._watches[folder.id] = w
        problem = folder_problem(folder.path)
        if problem is not None:
            log.warning("folder offline (%s): %s", problem, folder.path)
            return
        if not folder.use_polling:
            observer = self._native_observer()
            if observer is not None:
                closes = type(observer).__name__ == "InotifyObserver"
                try:
                    w.watch = observer.schedule(
                        _Handler(self, folder.path, closes), folder.path, recursive=True
                    )
                    w.observer, w.mode = observer, "native"
                    log.info("watching %s (%s)", folder.path, type(observer).__name__)
                    return
                except OSError as exc:
                    if exc.errno == errno.ENOSPC:
                        log.warning(
                            "inotify watch limit reached (fs.inotify.max_user_watches = %s) "
                            "while watching %s: it will be rescanned every %.0fs instead. To "
                            "watch it live, raise the limit, e.g. `sudo sysctl "
                            "fs.inotify.max_user_watches=524288` (persist it in "
                            "/etc/sysctl.d/).",
                            _read_limit("max_user_watches"),
                            folder.path,
                            self.rescan_interval,
                        )
                        w.mode = "rescan"
                        w.next_rescan = time.monotonic() + self.rescan_interval
                        return
                    log.warning(
                        "cannot watch %s natively (%s): polling it instead", folder.path, exc
                    )
        try:
            observer = self._polling_observer()
            w.watch = observer.schedule(_Handler(self, folder.path), folder.path, recursive=True)
            w.observer, w.mode = observer, "polling"
            log.info("watching %s by polling every %.0fs", folder.path, self.poll_interval)
        except OSError as exc:
            log.warning("cannot watch %s (%s): rescanning it instead", folder.path, exc)
            w.mode = "rescan"
            w.next_rescan = time.monotonic() + self.rescan_interval

    def _unwatch(self, w: _Watch) -> None:
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

    def _stop_observers(self) -> None:
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
        with self._cond:
            for w in self._watches.values():
                w.observer = w.watch = None
            self._watches.clear()
            self._writing.clear()
        self._dirty.clear()
        self._unsettled.clear()


def _read_limit(name: str) -> str:
    try:
        with open(f"/proc/sys/fs/inotify/{name}") as f:
            return f.read().strip()
    except OSError:
        return "?"
