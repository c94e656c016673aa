"""The photo grid: a QListView in icon mode with uniform cells and batched layout, its keys
(Enter opens, Space previews, Esc clears the search) and its context-menu request."""

from __future__ import annotations

from photosearch.gui.qt import (
    QAbstractItemView,
    QContextMenuEvent,
    QItemSelectionModel,
    QKeyEvent,
    QListView,
    QResizeEvent,
    QSize,
    QStyle,
    Qt,
    QWidget,
    Signal,
)
from photosearch.gui.results_model import ResultsModel
from photosearch.gui.thumbnail_delegate import GAP, ThumbnailDelegate


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
