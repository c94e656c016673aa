"""The search controller: turns the search bar's state into results or an empty state.

Queries run on the search worker through :mod:`photosearch.gui.search_service`; the newest
query wins (older results are dropped when they arrive). With no query the library is shown,
newest first, and refreshed as photos are indexed. Feedback views (a query refined by ✓/✗
marks, "more like these") run the same way; the marks belong to the view and go when the query
changes. Filters (date, camera) go into the search,
before its top-k selection; the sort order is applied here, on the GUI thread, so that changing
it re-orders the results at hand without searching again.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from typing import Any

from photosearch.core.errors import ImageError, UserError
from photosearch.core.search.searcher import Filters, Result
from photosearch.gui import search_service, teach_service
from photosearch.gui.context import AppContext
from photosearch.gui.empty_state import Empty
from photosearch.gui.match_header import split_matches
from photosearch.gui.qt import QObject, QTimer, Signal
from photosearch.gui.teach_header import FeedbackState

log = logging.getLogger(__name__)

REFRESH_MIN_MS = 700  # live updates while indexing: at most this often
LOADING_MODEL = "Loading the image model… the search runs as soon as it is ready"

NO_FOLDERS = Empty(
    "no-folders",
    "Add a folder to get started",
    "photosearch indexes the photos in the folders you choose, on this computer, and lets you "
    "find them by describing them or by showing an example. Nothing leaves your machine.",
    "Add a Folder…",
)


@dataclass(frozen=True)
class FeedbackView:
    """A view made from feedback: "refine" (``query`` re-ranked by ``marks``) or "like" (photos
    like ``photo_ids``)."""

    kind: str
    query: str = ""
    marks: tuple[tuple[int, bool], ...] = ()
    photo_ids: tuple[int, ...] = ()


ORDER_WORDS = {"best": "best matches first", "newest": "newest first", "oldest": "oldest first"}


class SearchController(QObject):
    results_ready = Signal(str, str, object, str, object)  # title, detail, results, kind, Matches
    empty = Signal(object, str, str)  # Empty, title, detail
    busy = Signal(str)  # a short status message ("" when idle)
    notes = Signal(object)  # list[str]: what the search says about the query ([] for nothing)
    new_view = Signal()  # filters or sort changed: the next results are not a live refresh
    taught = Signal(object)  # list[TaughtWord]: the taught words the shown query uses
    feedback_changed = Signal(object)  # FeedbackState: the marks and what they allow

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
        self.last_results: list[Result] = []  # as shown (sorted)
        self.filters: Filters | None = None
        self.filter_words = ""  # the filters in words, for the empty state
        self.folder = ""  # a watched folder picked in the sidebar: show only its photos
        self.sort = "best"
        self.weak_shown = False  # the user asked for the current query's weaker matches
        # What is shown, unsorted, to re-sort in place: (kind, results, dates, good matches).
        self._shown: tuple[str, list[Result], dict[int, float], int | None] | None = None
        self.marks: dict[int, bool] = {}  # photo id -> ✓ (True) / ✗ (False), for this query
        self.feedback: FeedbackView | None = None

    @property
    def in_library_mode(self) -> bool:
        return not self.text and not self.image and self.feedback is None

    def set_query(self, text: str, image: str) -> None:
        self.text, self.image = text.strip(), image
        self.weak_shown = False
        self.feedback = None
        self.marks = {}
        self._feedback_changed()
        self.run()

    # --- feedback -----------------------------------------------------------------------------
    def feedback_state(self) -> FeedbackState:
        refined = self.feedback is not None and self.feedback.kind == "refine"
        query = self.feedback.query if refined and self.feedback else self.text
        return FeedbackState(dict(self.marks), bool(query), refined)

    def feedback_state_query(self) -> str:
        """The text query the marks are on (a name to offer for "Save as Word…")."""
        return self.feedback.query if self.feedback is not None else self.text

    def _feedback_changed(self) -> None:
        self.feedback_changed.emit(self.feedback_state())

    def mark(self, photo_ids: list[int], right: bool | None) -> None:
        """Mark photos ✓ (True) or ✗ (False), or unmark them (None). Marking photos with the
        mark they all have already takes it off (the key toggles)."""
        if not photo_ids:
            return
        if right is None or all(self.marks.get(p) is right for p in photo_ids):
            for p in photo_ids:
                self.marks.pop(p, None)
        else:
            self.marks.update((p, right) for p in photo_ids)
        self._feedback_changed()

    def clear_marks(self) -> None:
        self.marks = {}
        self._feedback_changed()

    def refine(self) -> None:
        """Search the query again with the ✓ photos in and the ✗ ones out (the marks stay, for
        another round)."""
        state = self.feedback_state()
        if not state.can_refine or not self.marks:
            self.busy.emit("Mark results ✓ or ✗ in a text query's results first, then Refine.")
            return
        query = self.feedback.query if state.refined and self.feedback else self.text
        self.feedback = FeedbackView("refine", query, tuple(self.marks.items()))
        self.weak_shown = False
        self.new_view.emit()
        self._feedback_changed()
        self.run()

    def more_like_these(self, photo_ids: list[int]) -> None:
        if not photo_ids:
            return
        self.feedback = FeedbackView("like", photo_ids=tuple(photo_ids))
        self.marks = {}
        self.new_view.emit()
        self._feedback_changed()
        self.run()

    def show_weaker(self) -> None:
        """Add the text query's weaker matches after its good ones (until the query changes)."""
        if self.weak_shown:
            return
        self.weak_shown = True
        if self._shown is not None:
            self._present()

    def set_filters(self, filters: Filters | None, words: str = "") -> None:
        """Restrict the current view (query or library) to ``filters`` and run it again."""
        self.filters = filters if filters is not None and filters.active() else None
        self.filter_words = words if self.filters else ""
        self.new_view.emit()
        self.run()

    def set_folder(self, path: str) -> None:
        """Show only the photos of one watched folder ("" = every folder)."""
        if path == self.folder:
            return
        self.folder = path
        self.new_view.emit()
        self.run()

    @property
    def library_title(self) -> str:
        return (
            os.path.basename(self.folder.rstrip(os.sep)) or self.folder
            if self.folder
            else "All Photos"
        )

    def set_sort(self, sort: str) -> None:
        """Order the grid by score ("best") or capture date ("newest", "oldest"); the results at
        hand are re-ordered without searching again."""
        if sort == self.sort:
            return
        self.sort = sort
        self.new_view.emit()
        if self._shown is not None and not self._running:
            self._present()  # else the running search comes back in the new order

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
        ctx, text, image, filters = self.ctx, self.text, self.image, self.filters
        folder = self.folder
        self._running = True
        self._dirty = False
        ctx.search_runner.cancel_queued()
        if not live and not self.in_library_mode:
            self.busy.emit("Searching…")

        feedback = self.feedback
        if feedback is not None:

            def job() -> Any:
                return _feedback_job(ctx, feedback, _in_folder(ctx, filters, folder))

            done = self._query_done
        elif self.in_library_mode:

            def job() -> Any:
                folders = ctx.library.folders()
                scope = _in_folder(ctx, filters, folder)
                results = search_service.library_photos(ctx.searcher, None, scope)
                counts = ctx.library.status_counts() if not results else {}
                return folders, results, counts

            done = self._library_done
        else:
            word_vectors = ctx.word_vectors
            tell_loading = not live and bool(image) and not ctx.models.ready

            def job() -> Any:
                if tell_loading and ctx.library.photo_by_path(image) is None:
                    self.busy.emit(LOADING_MODEL)  # queued to the GUI thread
                outcome = search_service.run_query(
                    ctx.searcher,
                    text,
                    image or None,
                    filters=_in_folder(ctx, filters, folder),
                    word_vectors=word_vectors,
                )
                ids = [r.photo_id for r in outcome.results]
                taught = _taught_in(ctx, text)
                return outcome, search_service.photo_dates(ctx.library, ids), taught

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
    def sorted_results(
        self, kind: str, results: list[Result], dates: dict[int, float]
    ) -> list[Result]:
        """``results`` (best first; the library newest first) in the chosen order; a text
        query's good matches stay ahead of its weak ones."""
        if kind == "library":  # score = date, newest first
            return results[::-1] if self.sort == "oldest" else results
        if self.sort == "best":
            return results
        sign = -1.0 if self.sort == "newest" else 1.0
        return sorted(results, key=lambda r: (r.match == "weak", sign * dates.get(r.photo_id, 0.0)))

    def _present(self) -> None:
        assert self._shown is not None
        kind, results, dates, good = self._shown
        shown, matches = split_matches(
            self.sorted_results(kind, results, dates), good, self.weak_shown
        )
        self.last_results = shown
        n = len(shown)
        if kind == "library":
            order = "oldest first" if self.sort == "oldest" else "newest first"
            title = self.library_title
        else:
            order, title = ORDER_WORDS.get(self.sort, ORDER_WORDS["best"]), self._title()
        count = matches.describe() or f"{n:,} photo{'s' if n != 1 else ''}"
        self.results_ready.emit(title, f"{count} · {order}", shown, kind, matches)

    def _filtered_empty(self, title: str, query: bool) -> None:
        what = "match" if query else "photo"
        everything = "every match" if query else "all your photos"
        self.empty.emit(
            Empty(
                "filtered",
                "No photos match the filters",
                f"There is no {what} {self.filter_words or 'inside these filters'}. "
                f"Clear the filters to see {everything}.",
                "Clear Filters",
            ),
            title,
            "",
        )

    def _library_done(self, value: Any) -> None:
        folders, results, counts = value
        self.last_results = []
        self._shown = None
        self.notes.emit([])
        self.taught.emit([])
        if not folders:
            self.empty.emit(NO_FOLDERS, "", "")
            return
        if not results and self.filters is not None:
            self._filtered_empty(self.library_title, query=False)
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
            self.empty.emit(state, self.library_title, "")
            return
        self._shown = ("library", results, {}, None)
        self._present()

    def _title(self) -> str:
        if self.feedback is not None and self.feedback.kind == "like":
            n = len(self.feedback.photo_ids)
            return f"More like {'this photo' if n == 1 else f'these {n:,} photos'}"
        if self.feedback is not None:
            return f"“{self.feedback.query}” · refined"
        parts = []
        if self.text:
            parts.append(f"“{self.text}”")
        if self.image:
            name = os.path.basename(self.image)
            parts.append(name if self.text else f"Similar to {name}")
        return " + ".join(parts)

    def _query_done(self, value: tuple[search_service.Outcome, dict[int, float], Any]) -> None:
        outcome, dates, taught = value
        results = outcome.results
        self.last_results = []
        self._shown = None
        self.notes.emit(list(outcome.notes))
        self.taught.emit(taught)
        if not results and self.filters is not None:
            self._filtered_empty(self._title(), query=True)
            return
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
        self._shown = ("query", results, dates, outcome.good)
        self._present()

    def _failed(self, exc: BaseException) -> None:
        self.last_results = []
        self._shown = None
        self.notes.emit([])
        self.taught.emit([])
        message = search_service.query_problem(exc)
        if message is not None:
            self.empty.emit(
                Empty("query-problem", "Nothing to search for", message), self._title(), ""
            )
            return
        if isinstance(exc, ImageError):
            self.empty.emit(
                Empty("error", "This image cannot be read", str(exc)), self._title(), ""
            )
            return
        if isinstance(exc, UserError):  # a locked database, a full disk: said in the view
            log.warning("search failed: %s", exc)
        else:
            self.ctx.errors.report(exc, "The search failed")  # a bug: the log and a dialog
        self.empty.emit(Empty("error", "The search failed", str(exc)), self._title(), "")


def _taught_in(ctx: Any, text: str) -> list[Any]:
    """The taught words a query uses, for the header (runs on the search worker)."""
    return teach_service.in_query(ctx.searcher, text)


def _feedback_job(ctx: Any, view: FeedbackView, filters: Filters | None) -> Any:
    """The outcome of a feedback view, its photos' dates and its taught words (on the worker)."""
    if view.kind == "like":
        outcome = teach_service.more_like_these(
            ctx.searcher, view.photo_ids, filters, ctx.word_vectors
        )
        taught: list[Any] = []
    else:
        outcome = teach_service.refine(
            ctx.searcher, view.query, dict(view.marks), filters, ctx.word_vectors
        )
        taught = _taught_in(ctx, view.query)
    ids = [r.photo_id for r in outcome.results]
    return outcome, search_service.photo_dates(ctx.library, ids), taught


def _in_folder(ctx: Any, filters: Filters | None, folder: str) -> Filters | None:
    """``filters`` restricted to one folder's photos (runs on a worker: it reads the library)."""
    if not folder:
        return filters
    return replace(filters or Filters(), photo_ids=ctx.library.photo_ids_in_folder(folder))
