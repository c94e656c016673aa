"""The app's one indexing service: the folder watcher (:class:`photosearch.core.indexing.watcher.
WatchService`) on its own thread, which syncs the folders when it starts, follows them, and
embeds what is pending. "Rescan" and a new folder are requests to it; pause / resume / stop reach
it directly. What it changed (:class:`~photosearch.core.indexing.changes.Changes`), its progress and its
state reach the GUI thread as queued signals (progress throttled); widgets are never touched
from its thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from photosearch.core.indexing.changes import Changes
from photosearch.core.library.store import Library
from photosearch.gui.models import ModelService
from photosearch.gui.qt import QObject, Signal

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.2
BUSY = ("starting", "scanning", "indexing")


class IndexingService(QObject):
    """Starts the watch service once and sends it requests; one worker ever syncs or embeds."""

    started = Signal()  # the service became busy (scanning or embedding)
    progress = Signal(object)  # photosearch.core.indexing.indexer.Progress
    finished = Signal(object)  # Changes: everything the busy spell changed
    changed = Signal(object)  # Changes: one step's, as it happens (the grid follows these)
    failed = Signal(str)
    paused_changed = Signal(bool)

    def __init__(
        self,
        library: Library,
        models: ModelService,
        semantic_factory: Callable[[], Any] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.models = models
        self.semantic_factory = semantic_factory
        self._watcher: Any = None
        self._retired: Any = None  # a service asked to stop, maybe still finishing a batch
        self._closing = False
        self._paused = False
        self._state = ""
        self._spell = Changes("index")  # what the current busy spell changed
        self._spell_lock = threading.Lock()

    @property
    def running(self) -> bool:
        """Scanning or embedding (watching idly does not count), or still stopping."""
        if self._retired is not None and self._retired.running:
            return True
        return self._watcher is not None and self._watcher.state in BUSY

    @property
    def paused(self) -> bool:
        return self._paused

    # --- control (GUI thread) -------------------------------------------------------------
    def start(self) -> None:
        """Bring the library in sync with its folders and follow them: starts the service, or
        asks the running one to re-read the folders and rescan them."""
        if self._closing:
            return
        if self._watcher is not None and self._watcher.running:
            self._watcher.refresh_folders()
            self._watcher.rescan()
            return
        if self._retired is not None:
            self._retired.stop()  # one service at a time
            self._retired = None
        # Here, off the window's start-up path (~50 ms of modules); no torch: the encoder is lazy.
        from photosearch.core.indexing.indexer import default_decode_workers
        from photosearch.core.indexing.watcher import WatchService

        self._watcher = WatchService(
            self.library,
            self.models.get,
            self.semantic_factory,
            on_progress=self._throttled(),
            on_change=self._on_change,
            on_state=self._on_state,
            integrity_check_days=None,  # the app checks on its own (AppContext.check_integrity)
            # The app's first sync runs at full speed, as the indexer did before it: a decode
            # worker per core and no pause between batches. The service's lowered priority
            # (nice) keeps the window responsive; the headless `watch` keeps its gentler pace.
            decode_workers=default_decode_workers(),
            batch_pause=0.0,
        )
        if self._paused:
            self._watcher.pause()
        self._watcher.start()

    def pause(self) -> None:
        if self._watcher is not None:
            self._watcher.pause()
        self._paused = True
        self.paused_changed.emit(True)

    def resume(self) -> None:
        if self._watcher is not None:
            self._watcher.resume()
        self._paused = False
        self.paused_changed.emit(False)

    def stop(self) -> None:
        """Stop syncing and following the folders, without waiting (the batch being encoded
        is committed or left pending); :meth:`start` begins again with a rescan."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop(timeout=0)
            self._retired = watcher

    def shutdown(self, timeout: float = 60.0) -> None:
        """Stop the service and wait for it (called when the window closes)."""
        self._closing = True
        self.stop()
        if self._retired is not None:
            self._retired.stop(timeout)

    # --- from the service's thread: only signals leave it -----------------------------------
    def _on_change(self, changes: Changes) -> None:
        with self._spell_lock:
            self._spell.merge(changes)
        if not self._closing:
            self.changed.emit(changes)

    def _on_state(self, state: str) -> None:
        previous, self._state = self._state, state
        if self._closing:
            return
        if state in BUSY and previous not in BUSY:
            self.started.emit()
        elif state in ("watching", "stopped") and previous in BUSY:
            with self._spell_lock:
                spell, self._spell = self._spell, Changes("index")
            self.finished.emit(spell)
        elif state == "error":
            watcher = self._watcher
            error = watcher.error if watcher is not None else None
            self.failed.emit(str(error or "the folder watcher stopped"))

    def _throttled(self) -> Callable[[Any], None]:
        last: list[Any] = [0.0, ""]  # when and in which phase progress was last sent

        def report(progress: Any) -> None:
            now = time.monotonic()
            if progress.phase != last[1] or now - last[0] >= PROGRESS_INTERVAL_S:
                last[0], last[1] = now, progress.phase
                if not self._closing:
                    self.progress.emit(progress)

        return report
