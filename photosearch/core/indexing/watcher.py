"""The background indexing service: follow the watched folders and keep the library in sync.

    watchdog observers (:mod:`~photosearch.core.indexing.observers`, their own threads)
        -> the event queue (:mod:`~photosearch.core.indexing.events`: coalesce, debounce, wait until
           files are complete; the observers only append, never touch disk or database)
        -> this service's worker thread, which asks the one sync pipeline
           (:mod:`~photosearch.core.indexing.sync`) to apply moves, sync these paths or rescan folders,
           then embeds what is pending (:meth:`Indexer.embed_pending`), all through the
           library's one writer.

On start the worker rescans every folder (:func:`~photosearch.core.indexing.sync.sync_folders`, stat
signatures only) to catch what changed while it was not running, then waits for events and for
requests (:meth:`WatchService.rescan`, :meth:`WatchService.refresh_folders`). A folder whose root
cannot be read goes ``offline`` (its photos are kept) and is checked every ``check_interval``
seconds; it comes back, with its embeddings, when it returns.

Throttling, so that a GUI in the same process stays responsive: the worker lowers its own
priority (``nice``, per thread on Linux; the decode and OpenMP threads it starts inherit it),
decodes with at most half the cores and sleeps ``batch_pause`` seconds between inference
batches. The writer thread is not lowered, so commits are never starved.

Damage that queries never read goes unnoticed, so on start, and whenever it falls due, the
service runs ``PRAGMA quick_check`` if the last clean check is older than
``integrity_check_days``. Damage, found by it or by any query, stops the service (state
``error``, :attr:`WatchService.error` a ``DatabaseCorruptError``): writing on could only make it
worse.

Callbacks (``on_progress``, ``on_change`` with a :class:`~photosearch.core.indexing.changes.Changes`,
``on_state``) run on the worker thread and must return quickly (a GUI forwards them as queued Qt
signals). No Qt here.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from photosearch.core.indexing.background import LiveChanges, lower_thread_priority
from photosearch.core.indexing.changes import Changes
from photosearch.core.indexing.events import EventQueue
from photosearch.core.indexing.indexer import Controls, Encoder, Indexer, Progress, SemanticEmbedder
from photosearch.core.indexing.observers import MODES, Observers, OverflowHook
from photosearch.core.indexing.scanner import folder_available, walk_photos
from photosearch.core.indexing.sync import apply_moves, stale_paths, sync_folders, sync_paths
from photosearch.core.library.db import DatabaseCorruptError
from photosearch.core.library.photo_sync import paths_under
from photosearch.core.library.rows import Folder
from photosearch.core.library.store import INTEGRITY_CHECK_DAYS, Library
from photosearch.core.library.writer import WriterClosedError

log = logging.getLogger(__name__)

__all__ = ["MODES", "STATES", "WatchService", "apply_moves", "sync_paths"]

STATES = ("stopped", "starting", "scanning", "indexing", "watching", "paused", "error")


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
        on_change: Callable[[Changes], None] | None = None,
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
        self.debounce, self.max_delay, self.settle = debounce, max_delay, settle  # as given
        self.check_interval, self.rescan_interval = check_interval, rescan_interval
        self.batch_size = batch_size
        self.decode_workers = decode_workers or max(1, min(4, (os.cpu_count() or 2) // 2))
        self.nice = nice
        self.batch_pause = batch_pause
        self.integrity_check_days = integrity_check_days
        self._next_integrity_check = 0.0  # time.time() of the next due check
        self.error: BaseException | None = None
        self.indexer: Indexer | None = None

        self._cond = threading.Condition()
        self._queue = EventQueue(self._cond, debounce, max_delay, settle, write_timeout)
        self._observers = Observers(self._on_fs_event, poll_interval, rescan_interval)
        self._requests: set[str] = set()
        self._state = "stopped"
        self._idle = False
        self._thread: threading.Thread | None = None
        self._controls = Controls()
        self._stopping = False
        self._paused = False
        self._overflow_hook = OverflowHook(lambda: self._request(overflow=True))
        self._live = LiveChanges(self._changed)

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
            self._queue.take()
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
        Changes after this are picked up by the rescan of the next :meth:`start`. Waits up to
        ``timeout`` seconds for the worker (None: as long as it takes; 0: not at all)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._controls.stop()
        thread = self._thread
        if thread is not None and timeout != 0 and thread is not threading.current_thread():
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
        return self._observers.modes()

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
        with self._cond:
            if self._queue.put(root, event, reports_close):
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

    def _changed(self, changes: Changes, reason: str | None = None) -> Changes:
        """Report what a step changed (nothing when it changed nothing a view shows)."""
        changes.reason = reason or changes.reason
        if changes.empty:
            return changes
        changes.seq = changes.seq or self.library.seq()
        if self.on_change is not None:
            try:
                self.on_change(changes)
            except Exception:
                log.exception("on_change callback failed")
        return changes

    def _run(self) -> None:
        try:
            self._check_integrity_if_due()  # before the model loads: a damaged file stops here
            lower_thread_priority(self.nice)
            self._overflow_hook.install()
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
            self._observers.stop()
            self._queue.clear()
            self._overflow_hook.remove()
            with self._cond:
                self._idle = False
                self._cond.notify_all()
            if self.error is None:
                self._set_state("stopped")
            log.info("watch service stopped")

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
                events = self._queue.take()
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

    def _step(self, events: list[Any], requests: set[str], next_check: float) -> tuple[float, bool]:
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
            for w in self._observers.all():
                if w.mode == "native":
                    self._diff_folder(w.folder)
        ready = self._queue.ready(time.monotonic(), self._expand)
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
        deadline = self._queue.deadline(next_check)
        idle = self._queue.settled and not self._has_pending()
        self._set_state("paused" if self._paused else "watching")
        with self._cond:
            if self._stopping or self._queue.events or self._requests:
                return
            if idle and not self._idle:
                self._idle = True
                self._cond.notify_all()
            self._cond.wait(max(0.0, deadline - now))

    def _has_pending(self) -> bool:
        return self.indexer is not None and self.indexer.has_pending()

    # --- events -> library updates ----------------------------------------------------------
    def _take_events(self, events: list[Any], now: float) -> None:
        moves, root_gone = self._queue.absorb(events, now)
        if root_gone:
            self._request(root=True)
        if moves:
            moved = self._changed(apply_moves(self.library, moves, self._observers.online()))
            if moved.moved:
                log.info("moved %d photo(s) (embeddings kept)", moved.moved)

    def _expand(self, path: str) -> list[str]:
        """A folder event stands for every photo under it, on disk or in the library."""
        roots = self._observers.roots()
        found = [e.path for e in walk_photos(path, roots=roots)] if os.path.isdir(path) else []
        return found + paths_under(self.library.reader(), path)

    def _sync(self, paths: list[str]) -> None:
        folders = self._observers.online()
        if any(not folder_available(f) for f in folders):
            self._check_folders(time.monotonic())
            folders = self._observers.online()
        result = sync_paths(self.library, paths, folders, self._model_id)
        for path, message in result.problems:
            log.warning("skipped %s: %s", path, message)
        if not self._changed(result).empty:
            log.info("%s", result.summary())

    def _full_scan(self, folders: list[Folder] | None = None) -> None:
        self._set_state("scanning")
        started = time.monotonic()

        def progress(n: int) -> None:
            self._progress(Progress("scan", n, 0))

        result = sync_folders(self.library, folders, self._model_id, progress)
        self._changed(result, "scan")
        log.info(
            "rescan of %s in %.1fs: %s, %d unchanged",
            "all folders" if folders is None else ", ".join(f.path for f in folders),
            time.monotonic() - started,
            result.summary(),
            result.unchanged,
        )

    def _embed(self) -> int:
        """Embed what is pending; returns how many photos were handled."""
        assert self.indexer is not None
        self._set_state("indexing")
        started = time.monotonic()
        done = self.indexer.embed_pending(self._on_embed_progress, self._live.add)
        self._live.flush()
        embedded, errors = done.embedded, done.errors
        if embedded or errors:
            log.info(
                "indexed %d photo(s)%s in %.1fs",
                embedded,
                f", {errors} error(s)" if errors else "",
                time.monotonic() - started,
            )
        return embedded + errors

    def _on_embed_progress(self, progress: Progress) -> None:
        self._progress(progress)
        if progress.phase != "embed":
            return
        self._live.tick()
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
        for w in self._observers.all():
            available = folder_available(w.folder)
            if w.mode == "offline" and available:
                log.info("folder is back: %s", w.folder.path)
                self._observers.unwatch(w)
                self._observers.watch(w.folder)
                back.append(w.folder)
            elif w.mode != "offline" and not available:
                self._observers.unwatch(w)
                self._changed(sync_folders(self.library, [w.folder], self._model_id), "folders")
            elif w.mode == "rescan" and now >= w.next_rescan:
                w.next_rescan = now + self.rescan_interval
                self._diff_folder(w.folder)
        if back:
            self._full_scan(back)

    def _diff_folder(self, folder: Folder) -> None:
        """A rescan without events: what differs from its row is dirty (and then waits to be
        stable like any other)."""
        now = time.monotonic()
        for path in stale_paths(self.library, folder, self._observers.roots()):
            self._queue.mark(path, False, now)
        self._queue.caught_up(now)

    def _sync_watches(self, initial: bool = False) -> None:
        folders = {f.id: f for f in self.library.folders()}
        watches = {w.folder.id: w for w in self._observers.all()}
        for fid in [fid for fid in watches if fid not in folders]:
            gone = self._observers.forget(fid)
            log.info("no longer watching %s", gone.folder.path)
        added: list[Folder] = []
        for fid, folder in folders.items():
            w = watches.get(fid)
            if w is not None and w.folder.use_polling == folder.use_polling:
                continue
            if w is not None:
                self._observers.unwatch(w)
            self._observers.watch(folder)
            if w is None:
                added.append(folder)
        if added and not initial:
            self._full_scan(added)
