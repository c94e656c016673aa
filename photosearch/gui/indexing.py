"""Indexing in the background: the one place where the GUI runs the indexer (and, once
``photosearch.core.watcher`` lands, the folder watcher).

The indexer runs on its own thread through :class:`photosearch.core.indexer.Indexer` with
:class:`~photosearch.core.indexer.Controls` for pause / resume / stop. Progress reaches the GUI
thread as a queued signal (throttled); widgets are never touched from the worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from photosearch.core.store import Library
from photosearch.gui.models import ModelService
from photosearch.gui.qt import QObject, Signal

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.2


class IndexingService(QObject):
    """Runs ``Indexer(library, encoder, semantic).run()`` on a thread; one run at a time (a
    request during a run queues one more run, e.g. after a folder is added)."""

    started = Signal()
    progress = Signal(object)  # photosearch.core.indexer.Progress
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

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def paused(self) -> bool:
        return self._paused

    # --- control (GUI thread) -------------------------------------------------------------
    def start(self) -> None:
        """Bring the library in sync with its folders and embed what is pending."""
        if self._closing:
            return
        if self.running:
            self._again = True
            return
        self._again = False
        self._thread = threading.Thread(target=self._run, name="photosearch-indexer", daemon=True)
        self.started.emit()
        self._thread.start()

    def pause(self) -> None:
        if self._controls is not None:
            self._controls.pause()
        self._paused = True
        self.paused_changed.emit(True)

    def resume(self) -> None:
        if self._controls is not None:
            self._controls.resume()
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
        """Start watching the library's folders for changes, if the watcher is available.

        This is the single place the GUI starts ``photosearch.core.watcher`` (being written
        separately). Until it exists, changes are picked up by a rescan (on start, after a folder
        is added, or from the sidebar's "Rescan Folders").
        """
        try:
            from photosearch.core import watcher  # type: ignore[attr-defined]
        except ImportError:
            log.info("folder watcher not available; folders are rescanned on start")
            return
        log.info("folder watcher module found (%s); wire it in here", watcher.__name__)

    def stop_watcher(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None and hasattr(watcher, "stop"):
            watcher.stop()

    # --- the run (worker thread) ------------------------------------------------------------
    def _run(self) -> None:
        from photosearch.core.indexer import Controls, Indexer  # no torch here: encoder is lazy

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

    def _throttled(self) -> Callable[[Any], None]:
        last = [0.0, ""]

        def report(progress: Any) -> None:
            now = time.monotonic()
            if progress.phase != last[1] or now - last[0] >= PROGRESS_INTERVAL_S:
                last[0], last[1] = now, progress.phase
                if not self._closing:
                    self.progress.emit(progress)

        return report
