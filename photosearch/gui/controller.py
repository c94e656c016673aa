"""The search controller: turns the search bar's state into results or an empty state.

Queries run on the search worker through :mod:`photosearch.gui.search_service`; the newest
query wins (older results are dropped when they arrive). With no query the library is shown,
newest first, and refreshed as photos are indexed.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from photosearch.core.search import Result
from photosearch.gui import search_service
from photosearch.gui.context import AppContext
from photosearch.gui.empty_state import Empty
from photosearch.gui.qt import QObject, QTimer, Signal

log = logging.getLogger(__name__)

REFRESH_MIN_MS = 700  # live updates while indexing: at most this often

NO_FOLDERS = Empty(
    "no-folders",
    "Add a folder to get started",
    "photosearch indexes the photos in the folders you choose, on this computer, and lets you "
    "find them by describing them or by showing an example. Nothing leaves your machine.",
    "Add a Folder…",
)


class SearchController(QObject):
    results_ready = Signal(str, str, object, str)  # title, detail, list[Result], kind
    empty = Signal(object, str, str)  # Empty, title, detail
    busy = Signal(str)  # a short status message ("" when idle)
    notes = Signal(str)

    def __init__(self, ctx: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.text = ""
        self.image = ""
        self._generation = 0
        self._running = False
        self._dirty = False
        self._refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_MIN_MS)
        self._refresh_timer.timeout.connect(self._refresh_now)
        self.last_results: list[Result] = []

    @property
    def in_library_mode(self) -> bool:
        return not self.text and not self.image

    def set_query(self, text: str, image: str) -> None:
        self.text, self.image = text.strip(), image
        self.run()

    def refresh(self) -> None:
        """The library changed: re-run the current view soon (coalesced)."""
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def stop(self) -> None:
        """No more searches (the window is closing)."""
        self._refresh_timer.stop()
        self._generation += 1

    def _refresh_now(self) -> None:
        if self._running:
            self._dirty = True
        else:
            self.run(live=True)

    def run(self, live: bool = False) -> None:
        self._generation += 1
        generation = self._generation
        ctx, text, image = self.ctx, self.text, self.image
        self._running = True
        self._dirty = False
        ctx.search_runner.cancel_queued()
        if not live:
            if image and not ctx.models.ready and ctx.library.photo_by_path(image) is None:
                self.busy.emit("Loading the image model… the search runs as soon as it is ready")
            elif not self.in_library_mode:
                self.busy.emit("Searching…")

        if self.in_library_mode:

            def job() -> Any:
                folders = ctx.library.folders()
                results = search_service.library_photos(ctx.searcher)
                counts = ctx.library.status_counts() if not results else {}
                return folders, results, counts

            done = self._library_done
        else:
            word_vectors = ctx.word_vectors

            def job() -> Any:
                return search_service.run_query(
                    ctx.searcher, text, image or None, word_vectors=word_vectors
                )

            done = self._query_done

        ctx.search_runner.run(
            job,
            lambda value: self._finish(generation, done, value),
            lambda exc: self._finish(generation, self._failed, exc),
        )

    def _finish(self, generation: int, handler: Any, value: Any) -> None:
        if generation != self._generation:
            return
        self._running = False
        self.busy.emit("")
        handler(value)
        if self._dirty:
            self.refresh()

    # --- outcomes -----------------------------------------------------------------------------
    def _library_done(self, value: Any) -> None:
        folders, results, counts = value
        self.last_results = results
        if not folders:
            self.empty.emit(NO_FOLDERS, "", "")
            return
        if not results:
            if counts.get("pending", 0) or self.ctx.indexing.running:
                state = Empty(
                    "indexing",
                    "Indexing your photos…",
                    "They appear here as soon as they are ready. You can start searching now.",
                )
            else:
                state = Empty(
                    "no-photos",
                    "No photos in your folders yet",
                    "photosearch looks for JPEG, PNG, WebP, TIFF, BMP and GIF files (and HEIC "
                    "with the optional plug-in). Add another folder, or copy photos into one.",
                    "Add a Folder…",
                )
            self.empty.emit(state, "All Photos", "")
            return
        n = len(results)
        self.results_ready.emit(
            "All Photos", f"{n:,} photo{'s' if n != 1 else ''} · newest first", results, "library"
        )

    def _title(self) -> str:
        parts = []
        if self.text:
            parts.append(f"“{self.text}”")
        if self.image:
            name = os.path.basename(self.image)
            parts.append(name if self.text else f"Similar to {name}")
        return " + ".join(parts)

    def _query_done(self, outcome: search_service.Outcome) -> None:
        results = outcome.results
        self.last_results = results
        self.notes.emit("; ".join(outcome.notes))
        if not results:
            self.empty.emit(
                Empty(
                    "no-results",
                    "No matching photos",
                    "Try fewer or more common words (nouns work best: “dog”, “beach”, "
                    "“bicycle”), or drop a photo on the window to find ones like it.",
                ),
                self._title(),
                "",
            )
            return
        n = len(results)
        detail = f"{n:,} photo{'s' if n != 1 else ''} · best matches first"
        if outcome.notes:
            detail += " · " + "; ".join(outcome.notes)
        self.results_ready.emit(self._title(), detail, results, "query")

    def _failed(self, exc: BaseException) -> None:
        self.last_results = []
        message = search_service.query_problem(exc)
        if message is not None:
            self.empty.emit(
                Empty("query-problem", "Nothing to search for", message), self._title(), ""
            )
            return
        if self.image and "cannot" in str(exc).lower():
            self.empty.emit(
                Empty("error", "This image cannot be read", str(exc)), self._title(), ""
            )
            return
        log.error("search failed", exc_info=exc)
        self.empty.emit(Empty("error", "The search failed", str(exc)), self._title(), "")
