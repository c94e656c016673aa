"""Indexing in the background: the one place where the GUI runs the indexer and the folder
watcher.

The first sync runs on its own thread through :class:`photosearch.core.indexing.indexer.Indexer` with
:class:`~photosearch.core.indexing.indexer.Controls` for pause / resume / stop. Once it is done, the
folder watcher (:class:`photosearch.core.indexing.watcher.WatchService`) follows the folders; from then on
rescans and new folders go through the watcher, so only one worker ever embeds. Progress reaches
the GUI thread as a queued signal (throttled); widgets are never touched from a worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from photosearch.core.library.store import Library
from photosearch.gui.models import ModelService
from photosearch.gui.qt import QObject, Signal

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.2
WATCHER_BUSY = ("starting", "scanning", "indexing")


class IndexingService(QObject):
    """Runs ``Indexer(library, encoder, semantic).run()`` on a thread; one run at a time (a
    request during a run queues one more run, e.g. after a folder is added)."""

    started = Signal()
    progress = Signal(object)  # photosearch.core.indexing.indexer.Progress
    finished = Signal(object)  # IndexSummary, or None when stopped or failed
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
        self._thread: threading.Thread | None = None
        self._controls: Any = None
        self._again = False
        self._closing = False
        self._paused = False
        self._watcher: Any = None
        self._want_watcher = False
        self._watcher_last = ""

    @property
    def running(self) -> bool:
        if self._thread is not None and self._thread.is_alive():
            return True
        return self._watcher is not None and self._watcher.state in WATCHER_BUSY

    @property
    def paused(self) -> bool:
        return self._paused

    # --- control (GUI thread) -------------------------------------------------------------
    def start(self) -> None:
        """Bring the library in sync with its folders and embed what is pending."""
        if self._closing:
            return
        if self._watcher is not None and self._watcher.running:
            self._watcher.refresh_folders()
            self._watcher.rescan()
            return
        if self._thread is not None and self._thread.is_alive():
            self._again = True
            return
        self._again = False
        self._thread = threading.Thread(target=self._run, name="photosearch-indexer", daemon=True)
        self.started.emit()
        self._thread.start()

    def pause(self) -> None:
        if self._controls is not None:
            self._controls.pause()
        if self._watcher is not None:
            self._watcher.pause()
        self._paused = True
        self.paused_changed.emit(True)

    def resume(self) -> None:
        if self._controls is not None:
            self._controls.resume()
        if self._watcher is not None:
            self._watcher.resume()
        self._paused = False
        self.paused_changed.emit(False)

    def stop(self) -> None:
        self._again = False
        if self._controls is not None:
            self._controls.stop()

    def shutdown(self, timeout: float = 60.0) -> None:
        """Stop the run and the watcher and wait for them (called when the window closes)."""
        self._closing = True
        self.stop_watcher()
        self.stop()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the indexer did not stop within %.0f s", timeout)

    # --- the folder watcher ---------------------------------------------------------------
    def start_watcher(self) -> None:
        """Follow the library's folders for changes: at once, or when the running sync ends."""
        self._want_watcher = True
        if self._thread is None or not self._thread.is_alive():
            self._start_watcher_now()

    def _start_watcher_now(self) -> None:
        if self._closing or self._watcher is not None or not self._want_watcher:
            return
        from photosearch.core.indexing.watcher import WatchService  # no torch: the encoder is lazy

        self._watcher = WatchService(
            self.library,
            self.models.get,
            self.semantic_factory,
            on_progress=self._throttled(),
            on_state=self._watcher_state,
            integrity_check_days=None,  # the app checks on its own (AppContext.check_integrity)
        )
        if self._paused:
            self._watcher.pause()
        self._watcher.start()

    def _watcher_state(self, state: str) -> None:
        """Runs on the watcher's thread: only signals leave it."""
        previous, self._watcher_last = self._watcher_last, state
        if self._closing:
            return
        if state in WATCHER_BUSY and previous not in WATCHER_BUSY:
            self.started.emit()
        elif state == "watching" and previous in WATCHER_BUSY:
            self.finished.emit(None)
        elif state == "error" and self._watcher is not None:
            self.failed.emit(str(self._watcher.error or "the folder watcher stopped"))

    def stop_watcher(self) -> None:
        """Stop following the folders (also after the running sync: until start_watcher)."""
        self._want_watcher = False
        watcher, self._watcher = self._watcher, None
        if watcher is not None and hasattr(watcher, "stop"):
            watcher.stop()

    # --- the run (worker thread) ------------------------------------------------------------
    def _run(self) -> None:
        from photosearch.core.indexing.indexer import (  # no torch here: encoder is lazy
            Controls,
            Indexer,
        )

        summary = None
        while True:
            controls = Controls()
            if self._paused:
                controls.pause()
            self._controls = controls
            try:
                encoder = self.models.get()
                semantic = self.semantic_factory() if self.semantic_factory else None
                if controls.stopped:
                    break
                indexer = Indexer(self.library, encoder, semantic, controls=controls)
                summary = indexer.run(on_progress=self._throttled())
            except Exception as exc:
                log.exception("indexing failed")
                if not self._closing:
                    self.failed.emit(str(exc))
                summary = None
                break
            finally:
                self._controls = None
            if controls.stopped or not self._again or self._closing:
                break
            self._again = False
        if not self._closing:
            self.finished.emit(summary)
            self._start_watcher_now()

    def _throttled(self) -> Callable[[Any], None]:
        last = [0.0, ""]

        def report(progress: Any) -> None:
            now = time.monotonic()
            if progress.phase != last[1] or now - last[0] >= PROGRESS_INTERVAL_S:
                last[0], last[1] = now, progress.phase
                if not self._closing:
                    self.progress.emit(progress)

        return report
