"""The results panel: a header, the photo grid (:mod:`photosearch.gui.photo_grid`) and the empty
states; the grid's context menu."""

from __future__ import annotations

from photosearch.core.search.searcher import Result
from photosearch.core.teach.words import TaughtWord
from photosearch.gui.empty_state import Empty, EmptyState
from photosearch.gui.match_header import Matches, NoteLine, WeakerButton
from photosearch.gui.photo_actions import PhotoActions
from photosearch.gui.photo_grid import PhotoGrid
from photosearch.gui.qt import (
    QItemSelectionModel,
    QLabel,
    QMenu,
    QSizePolicy,
    QStackedWidget,
    Qt,
    QWidget,
    Signal,
    named,
)
from photosearch.gui.results_model import ID_ROLE, PATH_ROLE, ResultsModel
from photosearch.gui.teach_header import FeedbackBar, FeedbackState, TaughtLine
from photosearch.gui.thumbnails import ThumbnailLoader
from photosearch.gui.widgets import hbox, popup, vbox


class ResultsPanel(QWidget):
    """Header + grid + empty state. Emits what the user asked for; knows nothing of search."""

    open_requested = Signal(str)  # path
    preview_requested = Signal(int)  # row
    similar_requested = Signal(str)  # path
    show_in_folder_requested = Signal(str)
    copy_path_requested = Signal(str)
    empty_action = Signal(str)  # the empty state's kind
    clear_requested = Signal()
    weaker_requested = Signal()  # "Show N weaker matches"
    teach_requested = Signal(object)  # list[int]: the selected photo ids
    more_like_requested = Signal(object)  # list[int]
    mark_requested = Signal(object, object)  # list[int], True (✓) / False (✗) / None (unmark)
    refine_requested = Signal()
    clear_marks_requested = Signal()
    save_word_requested = Signal(object)  # dict[int, bool]: the marks
    improve_requested = Signal(str, object)  # word, list[int]

    def __init__(
        self, thumbnails: ThumbnailLoader, cell: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.model = ResultsModel(thumbnails, self)
        self.grid = PhotoGrid(self.model, cell, self)
        self.empty = EmptyState(self)
        self.title = named(QLabel(), "resultsTitle")
        self.detail = named(QLabel(), "resultsDetail")
        self.note = NoteLine(self)
        self.weaker = WeakerButton(self)
        self.photo_actions = PhotoActions(self.grid, self)
        self.taught = TaughtLine(self)
        acts = self.photo_actions
        self.feedback_bar = FeedbackBar([acts.refine, acts.save_word, acts.clear_marks], self)
        self._feedback = FeedbackState()
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.empty)

        self._new_view = False
        # A long detail (and a very long title) gives way to the header's tools (filters).
        self.detail.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        header = self.header = hbox(None, (16, 12, 12, 6), 10, self.title, (self.detail, 1))
        grid_box = vbox(None, (10, 0, 4, 0), 0, (self.stack, 1), self.weaker)
        grid_box.addStretch(0)  # takes what the grid leaves when it hugs a few rows
        parts = (header, self.note, self.taught, self.feedback_bar, (grid_box, 1))
        vbox(self, (0, 0, 0, 0), 0, *parts)

        self.grid.open_requested.connect(self._open_row)
        self.grid.preview_requested.connect(self.preview_requested)
        self.grid.menu_requested.connect(lambda row, pos: popup(self.build_menu(row), pos))
        self.empty.action_clicked.connect(self.empty_action)
        self.weaker.requested.connect(self._show_weaker)
        self.grid.resized.connect(self._hug_rows)
        self._connect_feedback()

    def _connect_feedback(self) -> None:
        acts = self.photo_actions
        acts.teach.triggered.connect(lambda: self.teach_requested.emit(self.selected_ids()))
        acts.more_like.triggered.connect(lambda: self.more_like_requested.emit(self.selected_ids()))
        acts.mark_right.triggered.connect(lambda: self._mark(True))
        acts.mark_wrong.triggered.connect(lambda: self._mark(False))
        acts.unmark.triggered.connect(lambda: self._mark(None))
        acts.refine.triggered.connect(self.refine_requested)
        acts.clear_marks.triggered.connect(self.clear_marks_requested)
        acts.save_word.triggered.connect(
            lambda: self.save_word_requested.emit(dict(self._feedback.marks))
        )
        self.taught.improve_requested.connect(
            lambda word: self.improve_requested.emit(word, self.selected_ids())
        )
        self.grid.selectionModel().selectionChanged.connect(self._update_actions)
        self.model.modelReset.connect(self._update_actions)

    def _mark(self, right: bool | None) -> None:
        self.mark_requested.emit(self.selected_ids(), right)

    def selected_ids(self) -> list[int]:
        """The selected photos' ids, in grid order."""
        rows = sorted(i.row() for i in self.grid.selectionModel().selectedIndexes())
        return [r.photo_id for r in (self.model.result(row) for row in rows) if r is not None]

    def _update_actions(self) -> None:
        self.photo_actions.update_state(
            len(self.grid.selectionModel().selectedIndexes()), self._feedback
        )

    def show_feedback(self, state: FeedbackState) -> None:
        """The marks (painted on the cells) and the feedback bar."""
        self._feedback = state
        self.model.set_marks(state.marks)
        self.feedback_bar.show_state(state)
        self._update_actions()

    def show_taught(self, words: list[TaughtWord]) -> None:
        """The taught words of the shown query, on their line above the grid."""
        self.taught.show_words(words)

    def add_header_widget(self, widget: QWidget) -> None:
        """A tool at the right end of the header (the filter row)."""
        self.header.addWidget(widget, 0, Qt.AlignmentFlag.AlignVCenter)

    # --- what is shown -------------------------------------------------------------------
    def start_new_view(self) -> None:
        """The next results are a new view (other filters or order), not a live refresh of the
        one shown: they start at the top."""
        self._new_view = True

    def show_results(
        self,
        title: str,
        detail: str,
        results: list[Result],
        kind: str,
        matches: Matches | None = None,
    ) -> None:
        self.title.setText(title)
        self.detail.setText(detail)
        self._fit_title()
        current = self.path_at(self.grid.current_row())
        scroll = self.grid.verticalScrollBar().value()
        showing_grid = self.stack.currentWidget() is self.grid
        refresh = kind == self.model.kind == "library" and showing_grid and not self._new_view
        self._new_view = False
        self.weaker.set_hidden_count(matches.hidden if matches else 0)
        shown = self.model.rowCount()
        if self.model.same_as(results):
            pass
        elif shown and kind == self.model.kind and showing_grid and self.model.extended_by(results):
            self._append(results[shown:])
        else:
            self.model.set_results(results, kind)
            if refresh:  # a live update of the same view: keep the user's place
                self.grid.doItemsLayout()
                self.grid.verticalScrollBar().setValue(scroll)
                if current:
                    self._select_path(current)
            elif results:
                self.grid.scrollToTop()
        self.model.kind = kind
        self.stack.setCurrentWidget(self.grid)
        self._hug_rows()

    def _append(self, results: list[Result]) -> None:
        """More rows after those shown (the weaker matches): the view keeps its place and
        scrolls only as far as needed to show where the weaker ones start."""
        boundary = self.model.weak_from
        self.model.append_results(results)
        if self.model.weak_from >= 0 and self.model.weak_from != boundary:
            self.grid.scrollTo(self.model.index(self.model.weak_from))

    def _show_weaker(self) -> None:
        from_keyboard = self.weaker.button.hasFocus()  # it takes no focus from a click
        self.weaker_requested.emit()  # the controller shows them at once
        if from_keyboard and self.model.weak_from >= 0:  # go on from the first weak one
            self.grid.setFocus()
            self.grid.selectionModel().setCurrentIndex(
                self.model.index(self.model.weak_from), QItemSelectionModel.SelectionFlag.NoUpdate
            )

    def _hug_rows(self) -> None:
        """With the weaker-matches button shown, the grid is no taller than its rows, so that
        the button sits right under the last good match (and at the bottom when they scroll)."""
        limit = 16_777_215  # QWIDGETSIZE_MAX
        if self.weaker.isVisibleTo(self) and self.stack.currentWidget() is self.grid:
            limit = self.grid.height_for(self.model.rowCount())
        if self.stack.maximumHeight() != limit:
            self.stack.setMaximumHeight(limit)

    def show_notes(self, notes: list[str]) -> None:
        """What the search says about the query (words it ignored, words no class is close
        to), on a line above the grid."""
        self.note.show_notes(notes)

    def show_empty(self, state: Empty, title: str = "", detail: str = "") -> None:
        self.title.setText(title)
        self.detail.setText(detail)
        self._fit_title()
        self._new_view = False
        self.weaker.set_hidden_count(0)
        self._hug_rows()
        self.model.set_results([], self.model.kind)
        self.empty.show_state(state)
        self.stack.setCurrentWidget(self.empty)

    def _fit_title(self) -> None:
        # A title as wide as its text, up to a limit; the detail label takes what is left.
        self.title.setMinimumWidth(min(self.title.sizeHint().width(), 200))

    def showing_empty(self) -> str:
        """The kind of empty state shown, or "" when the grid is shown."""
        return self.empty.kind if self.stack.currentWidget() is self.empty else ""

    def set_cell(self, cell: int) -> None:
        self.grid.set_cell(cell)

    # --- rows ------------------------------------------------------------------------------
    def path_at(self, row: int) -> str:
        result = self.model.result(row)
        return result.path if result else ""

    def _select_path(self, path: str) -> None:
        for row in range(self.model.rowCount()):
            if self.model.index(row).data(PATH_ROLE) == path:
                self.grid.setCurrentIndex(self.model.index(row))
                return

    def _open_row(self, row: int) -> None:
        path = self.path_at(row)
        if path:
            self.open_requested.emit(path)

    def build_menu(self, row: int) -> QMenu:
        path = self.path_at(row)
        menu = QMenu(self)
        menu.addAction("Open", lambda: self.open_requested.emit(path))
        menu.addAction("Preview", lambda: self.preview_requested.emit(row)).setShortcut("Space")
        menu.addSeparator()
        menu.addAction("Find Similar", lambda: self.similar_requested.emit(path))
        menu.addAction(self.photo_actions.more_like)
        menu.addAction(self.photo_actions.teach)
        menu.addSeparator()
        menu.addActions(self.photo_actions.mark_actions())
        if self._feedback.marks:
            menu.addAction(self.photo_actions.refine)
            menu.addAction(self.photo_actions.save_word)
        menu.addSeparator()
        menu.addAction("Show in Folder", lambda: self.show_in_folder_requested.emit(path))
        menu.addAction("Copy Path", lambda: self.copy_path_requested.emit(path))
        return menu

    def photo_id_at(self, row: int) -> int | None:
        index = self.model.index(row)
        return index.data(ID_ROLE) if index.isValid() else None
