"""The grid's cell painter: a square thumbnail with rounded corners, the file name on hover, the
selection ring, the ✓/✗ feedback marks and the bar where a text query's weaker matches start."""

from __future__ import annotations

from photosearch.gui.qt import (
    QColor,
    QFont,
    QFontMetrics,
    QLinearGradient,
    QModelIndex,
    QPainter,
    QPainterPath,
    QPen,
    QPersistentModelIndex,
    QRectF,
    QSize,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    Qt,
    QWidget,
)
from photosearch.gui.results_model import FAILED_ROLE, ResultsModel
from photosearch.gui.style import ACCENT, PLACEHOLDER

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
