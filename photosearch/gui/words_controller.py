"""Taught words in the window: asks for a word (the word dialog), teaches, renames, deletes and
saves refined results on the library worker, and tells the sidebar and the status bar.

Every change runs through ``ctx.io_runner`` (:mod:`photosearch.gui.teach_service`); the results
come back by signal. ``changed`` fires after a word changed, so that the view re-runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from photosearch.core.errors import UserError
from photosearch.core.teach.words import TaughtWord
from photosearch.gui import teach_service
from photosearch.gui.context import AppContext
from photosearch.gui.errors import plain
from photosearch.gui.qt import QMessageBox, QObject, QWidget, Signal
from photosearch.gui.widgets import confirm
from photosearch.gui.word_dialog import WordDialog, rename_dialog, save_dialog, teach_dialog

log = logging.getLogger(__name__)


class WordsController(QObject):
    words_changed = Signal(object)  # list[TaughtWord], sorted by word
    message = Signal(str)  # for the status bar
    changed = Signal()  # a word was taught, renamed or deleted
    replaced = Signal(str, str)  # old word, new name ("" when deleted)

    def __init__(self, ctx: AppContext, window: QWidget) -> None:
        super().__init__(window)
        self.ctx = ctx
        self.window = window
        self.words: list[TaughtWord] = []
        self.dialog: WordDialog | None = None  # the open word dialog (tests look at it)

    def known(self) -> dict[str, int]:
        return {w.word: w.positives for w in self.words}

    # --- reading ------------------------------------------------------------------------
    def refresh(self) -> None:
        ctx = self.ctx
        self._run(
            lambda: teach_service.list_words(ctx.searcher),
            self._show,
            "Cannot read your words",
        )

    def _show(self, words: list[TaughtWord]) -> None:
        if words != self.words:
            self.words = words
            self.words_changed.emit(words)

    # --- teaching -----------------------------------------------------------------------
    def ask_teach(self, photo_ids: Sequence[int], word: str = "") -> None:
        """Ask for a word, then teach it from the photos."""
        ids = list(photo_ids)
        if not ids:
            self.message.emit("Select the photos that show the word first.")
            return
        dialog = teach_dialog(self.known(), len(ids), self.window, word)
        self._open(dialog, lambda w: self.teach(w, ids))

    def improve(self, word: str, photo_ids: Sequence[int]) -> None:
        """The results header's Improve…: the selected photos as more examples of ``word``."""
        if not photo_ids:
            self.message.emit(f"Select photos of “{word}” in the grid, then Improve again.")
            return
        self.ask_teach(photo_ids, word)

    def teach(self, word: str, photo_ids: Sequence[int]) -> None:
        ctx, ids = self.ctx, list(photo_ids)
        self.message.emit(f"Teaching “{word}”…")

        def done(value: tuple[TaughtWord, int]) -> None:
            taught, added = value
            if taught.positives == added:
                text = f"Taught “{taught.word}” from {teach_service.describe_count(added)}"
            else:
                text = (
                    f"“{taught.word}” now has {teach_service.describe_count(taught.positives, 'example')}"
                    f" ({added:,} added)"
                )
            self._changed(text)

        self._run(
            lambda: teach_service.teach(ctx.searcher, word, ids),
            done,
            f"Cannot teach “{word}”",
        )

    # --- rename and delete --------------------------------------------------------------
    def ask_rename(self, word: str) -> None:
        dialog = rename_dialog(self.known(), word, self.window)
        self._open(dialog, lambda new: self.rename(word, new))

    def rename(self, old: str, new: str) -> None:
        if new == old:
            return
        ctx = self.ctx
        self._run(
            lambda: teach_service.rename(ctx.searcher, old, new),
            lambda taught: self._changed(f"Renamed “{old}” to “{taught.word}”", old, taught.word),
            f"Cannot rename “{old}”",
        )

    def confirm_delete(self, word: str) -> QMessageBox:
        return confirm(
            self.window,
            "Delete word",
            f"Delete the word “{word}”?",
            "Its photos stay in the library; only what it learnt is forgotten.",
            "Delete",
            lambda: self.delete(word),
        )

    def delete(self, word: str) -> None:
        ctx = self.ctx
        self._run(
            lambda: teach_service.remove(ctx.searcher, word),
            lambda _ok: self._changed(f"Deleted the word “{word}”", word, ""),
            f"Cannot delete “{word}”",
        )

    # --- feedback -----------------------------------------------------------------------
    def ask_save(self, marks: dict[int, bool], query: str = "") -> None:
        """Save a refined result as a word: its ✓ photos as examples, ✗ as "not this"."""
        right = sum(1 for ok in marks.values() if ok)
        if not right:
            self.message.emit("Mark at least one photo ✓ to save the result as a word.")
            return
        marks = dict(marks)
        dialog = save_dialog(self.known(), right, len(marks) - right, self.window, query)
        self._open(dialog, lambda word: self.save(word, marks))

    def save(self, word: str, marks: dict[int, bool]) -> None:
        ctx = self.ctx
        self._run(
            lambda: teach_service.save_as_word(ctx.searcher, word, marks, ctx.word_vectors),
            lambda taught: self._changed(
                f"Saved “{taught.word}”, taught from "
                f"{teach_service.describe_count(taught.positives)}"
            ),
            f"Cannot save “{word}”",
        )

    # --- internals ----------------------------------------------------------------------
    def _open(self, dialog: WordDialog, then: Callable[[str], None]) -> None:
        self.dialog = dialog

        def finished(result: int) -> None:
            self.dialog = None
            word = dialog.word()
            dialog.deleteLater()
            if result == WordDialog.DialogCode.Accepted and word:
                then(word)

        dialog.finished.connect(finished)
        dialog.open()

    def _changed(self, text: str, old: str = "", new: str = "") -> None:
        if old:
            self.replaced.emit(old, new)  # first: the view it starts says "Searching…"
        self.message.emit(text)
        self.refresh()
        self.changed.emit()

    def _run(self, job: Callable[[], Any], done: Callable[[Any], None], failing: str) -> None:
        def failed(exc: BaseException) -> None:
            if isinstance(exc, UserError):
                self.message.emit(f"{failing}: {exc}")
                return
            self.ctx.errors.report(exc, failing)  # a bug: the log and a dialog
            self.message.emit(f"{failing}: {plain(exc)}")

        self.ctx.io_runner.run(job, done, failed)
