"""The results panel: a header, the photo grid (QListView in icon mode) and the empty states."""

from __future__ import annotations

from photosearch.core.search.searcher import Result
from photosearch.core.teach.words import TaughtWord
from photosearch.gui.empty_state import Empty, EmptyState
from photosearch.gui.match_header import Matches, NoteLine, WeakerButton
from photosearch.gui.photo_actions import PhotoActions
from photosearch.gui.qt import (
    QAbstractItemView,
    QColor,
    QContextMenuEvent,
    QFont,
    QFontMetrics,
    QHBoxLayout,
    QItemSelectionModel,
    QKeyEvent,
    QLabel,
    QLinearGradient,
    QListView,
    QMenu,
    QModelIndex,
    QPainter,
    QPainterPath,
    QPen,
    QPersistentModelIndex,
    QPoint,
    QRectF,
    QResizeEvent,
    QSize,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
    named,
)
from photosearch.gui.results_model import FAILED_ROLE, ID_ROLE, PATH_ROLE, ResultsModel
from photosearch.gui.style import ACCENT, PLACEHOLDER
from photosearch.gui.teach_header import FeedbackBar, FeedbackState, TaughtLine
from photosearch.gui.thumbnails import ThumbnailLoader

GAP = 6  # px between cells
RADIUS = 6.0
WEAK_OPACITY = 0.5  # weaker matches of a text query, until hovered or selected
WEAK_LABEL = "Weaker matches"
BOUNDARY_COLOR = "#57606a"
MARK_COLORS = {True: "#1a7f37", False: "#cf222e"}  # ✓ right, ✗ wrong
MARK_SIDE = 24.0

Index = QModelIndex | QPersistentModelIndex


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints a square thumbnail; the file name fades in on hover; selection is an accent ring."""

    def __init__(self, cell: int, parent: QWidget | None = None, captions: bool = True) -> None:
        super().__init__(parent)
        self.cell = cell
        self.captions = captions

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(self.cell, self.cell)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(option.rect).adjusted(GAP / 2, GAP / 2, -GAP / 2, -GAP / 2)
        path = QPainterPath()
        path.addRoundedRect(rect, RADIUS, RADIUS)
        model = index.model()
        row = index.row()
        results = model if isinstance(model, ResultsModel) else None
        pixmap = (
            results.pixmap_at(row)
            if results is not None
            else index.data(Qt.ItemDataRole.DecorationRole)
        )
        painter.setClipPath(path)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        weak = results is not None and results.is_weak(row)
        if pixmap is not None and not pixmap.isNull():
            if weak and not (hovered or selected):
                painter.setOpacity(WEAK_OPACITY)
            painter.drawPixmap(rect, pixmap, QRectF(pixmap.rect()))
            painter.setOpacity(1.0)
        else:
            painter.fillRect(rect, QColor(PLACEHOLDER))
            if results.failed_at(row) if results is not None else index.data(FAILED_ROLE):
                painter.setPen(QColor("#8c959f"))
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "cannot open")
        if hovered and self.captions:
            band = QRectF(rect.left(), rect.bottom() - 30, rect.width(), 30)
            gradient = QLinearGradient(band.topLeft(), band.bottomLeft())
            gradient.setColorAt(0, QColor(0, 0, 0, 0))
            gradient.setColorAt(1, QColor(0, 0, 0, 150))
            painter.fillRect(band, gradient)
            painter.setPen(QColor("white"))
            name = painter.fontMetrics().elidedText(
                results.name_at(row)
                if results is not None
                else str(index.data(Qt.ItemDataRole.DisplayRole)),
                Qt.TextElideMode.ElideMiddle,
                int(band.width()) - 12,
            )
            painter.drawText(
                band.adjusted(6, 0, -6, -5),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                name,
            )
        painter.setClipping(False)
        if results is not None and row == results.weak_from:
            self._paint_boundary(painter, QRectF(option.rect), rect)
        if selected:
            painter.setPen(QPen(QColor(ACCENT), 3))
            painter.drawRoundedRect(rect.adjusted(1.5, 1.5, -1.5, -1.5), RADIUS, RADIUS)
        elif hovered:
            painter.setPen(QPen(QColor(0, 0, 0, 40), 1))
            painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), RADIUS, RADIUS)
        mark = results.mark_at(row) if results is not None else None
        if mark is not None:  # last: over the weaker-matches label on a narrow cell
            self._paint_mark(painter, rect, mark)
        painter.restore()

    @staticmethod
    def _paint_mark(painter: QPainter, rect: QRectF, right: bool) -> None:
        """A feedback mark: a ✓ or ✗ in a coloured disc at the cell's top right."""
        disc = QRectF(rect.right() - MARK_SIDE - 6, rect.top() + 6, MARK_SIDE, MARK_SIDE)
        painter.setPen(QPen(QColor("white"), 2))
        painter.setBrush(QColor(MARK_COLORS[right]))
        painter.drawEllipse(disc)
        font = QFont(painter.font())
        font.setPixelSize(14)
        font.setWeight(QFont.Weight.Bold)
        painter.setFont(font)
        painter.setPen(QColor("white"))
        painter.drawText(disc, Qt.AlignmentFlag.AlignCenter, "✓" if right else "✗")

    @staticmethod
    def _paint_boundary(painter: QPainter, cell: QRectF, rect: QRectF) -> None:
        """Where the weaker matches start: a bar in the gap before the cell and a label on it."""
        painter.fillRect(
            QRectF(cell.left(), rect.top(), 2.0, rect.height()), QColor(BOUNDARY_COLOR)
        )
        font = QFont(painter.font())
        font.setPixelSize(11)
        font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(font)
        metrics = QFontMetrics(font)
        label = QRectF(
            rect.left() + 6, rect.top() + 6, metrics.horizontalAdvance(WEAK_LABEL) + 14, 20
        )
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(BOUNDARY_COLOR))
        painter.drawRoundedRect(label, 10, 10)
        painter.setPen(QColor("white"))
        painter.drawText(label, Qt.AlignmentFlag.AlignCenter, WEAK_LABEL)


class PhotoGrid(QListView):
    """Icon-mode list with uniform cells and batched layout: smooth with 100k rows."""

    open_requested = Signal(int)  # row
    preview_requested = Signal(int)
    menu_requested = Signal(int, object)  # row, global QPoint
    escape_pressed = Signal()
    resized = Signal()

    def __init__(
        self, model: ResultsModel, cell: int, parent: QWidget | None = None, captions: bool = True
    ) -> None:
        super().__init__(parent)
        self.setObjectName("photoGrid")
        self.setModel(model)
        self.delegate = ThumbnailDelegate(cell, self, captions)
        self.setItemDelegate(self.delegate)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(400)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMouseTracking(True)
        self.setAcceptDrops(False)
        self.viewport().setAcceptDrops(False)
        self.setDragEnabled(False)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.DefaultContextMenu)
        self.set_cell(cell)
        self.activated.connect(lambda index: self.open_requested.emit(index.row()))
        self.doubleClicked.connect(lambda index: self.open_requested.emit(index.row()))

    def set_cell(self, cell: int) -> None:
        """Cells of about ``cell`` px, widened a little so that the columns fill the width."""
        self.target_cell = cell
        model = self.model()
        if isinstance(model, ResultsModel):
            model.set_thumb_side(int((cell - GAP) * self.devicePixelRatioF()))
        self._fit()

    def _columns(self) -> tuple[int, int]:
        """(columns, cell side) that fill the width. Like Qt's icon-mode layout, the width always
        leaves room for a scroll bar, shown or not, so the columns never overflow it."""
        style, bar = self.style(), self.verticalScrollBar()
        extent = style.pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, bar)
        width = self.width() - 2 * self.frameWidth() - extent - 1
        columns = max(1, width // self.target_cell)
        return columns, max(self.target_cell, width // columns)

    def _fit(self) -> None:
        cell = self._columns()[1] if self.isWrapping() else self.target_cell
        if cell != self.delegate.cell or self.gridSize().width() != cell:
            self.delegate.cell = cell
            self.setGridSize(QSize(cell, cell))
            self.setIconSize(QSize(cell, cell))
            self.verticalScrollBar().setSingleStep(max(16, cell // 3))

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._fit()
        super().resizeEvent(event)
        self.resized.emit()

    def height_for(self, count: int) -> int:
        """The height that shows ``count`` cells at the current width without scrolling."""
        columns, cell = self._columns()
        return -(-count // columns) * cell + 2 * self.frameWidth()

    def current_row(self) -> int:
        index = self.currentIndex()
        return index.row() if index.isValid() else -1

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        row = self.current_row()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and row >= 0:
            self.open_requested.emit(row)
            return
        if key == Qt.Key.Key_Escape:
            self.escape_pressed.emit()
            return
        if key == Qt.Key.Key_Space and row >= 0:
            self.preview_requested.emit(row)
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = self.indexAt(event.pos())
        if not index.isValid():
            return
        if self.selectionModel().isSelected(index):  # keep a multi-selection for its menu
            self.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
        else:
            self.setCurrentIndex(index)
        self.menu_requested.emit(index.row(), event.globalPos())


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
        header = self.header = QHBoxLayout()
        header.setContentsMargins(16, 12, 12, 6)
        header.setSpacing(10)
        header.addWidget(self.title, 0)
        header.addWidget(self.detail, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.note)
        layout.addWidget(self.taught)
        layout.addWidget(self.feedback_bar)
        grid_box = QVBoxLayout()
        grid_box.setContentsMargins(10, 0, 4, 0)
        grid_box.setSpacing(0)
        grid_box.addWidget(self.stack, 1)
        grid_box.addWidget(self.weaker)
        grid_box.addStretch(0)  # takes what the grid leaves when it hugs a few rows
        layout.addLayout(grid_box, 1)

        self.grid.open_requested.connect(self._open_row)
        self.grid.preview_requested.connect(self.preview_requested)
        self.grid.menu_requested.connect(self._menu)
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

    def _menu(self, row: int, pos: QPoint) -> None:
        menu = self.build_menu(row)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(pos)

    def photo_id_at(self, row: int) -> int | None:
        index = self.model.index(row)
        return index.data(ID_ROLE) if index.isValid() else None
