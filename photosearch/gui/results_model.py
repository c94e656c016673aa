"""The results list model: one row per photo, no widget per photo.

Rows hold only (id, path, score); thumbnails come from :class:`ThumbnailLoader` when a row is
painted (the view asks only for visible rows), and a row repaints when its thumbnail arrives.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Sequence

from photosearch.core.search.searcher import Result
from photosearch.gui.qt import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPixmap,
    Qt,
)
from photosearch.gui.thumbnails import ThumbnailLoader

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2
SCORE_ROLE = Qt.ItemDataRole.UserRole + 3
FAILED_ROLE = Qt.ItemDataRole.UserRole + 4
MARK_ROLE = Qt.ItemDataRole.UserRole + 5

Index = QModelIndex | QPersistentModelIndex


class ResultsModel(QAbstractListModel):
    """Photos in rank order. ``kind`` is "library" (score = date) or "query" (score = similarity)."""

    def __init__(self, thumbnails: ThumbnailLoader, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thumbs = thumbnails
        self._results: list[Result] = []
        self._rows: dict[str, list[int]] = {}
        self.weak_from = -1  # first row of the weaker matches after good ones (-1: no boundary)
        self.kind = "library"
        self.thumb_side = 168
        self._marks: dict[int, bool] = {}  # photo id -> True (✓) / False (✗): feedback marks
        thumbnails.ready.connect(self._thumbnail_ready)

    # --- contents ------------------------------------------------------------------------
    def set_results(self, results: Sequence[Result], kind: str) -> None:
        self.beginResetModel()
        self._results = []
        self._rows = {}
        self.weak_from = -1
        self._add(results)
        self.kind = kind
        self.endResetModel()

    def append_results(self, results: Sequence[Result]) -> None:
        """Add rows at the end (the view keeps its place and selection)."""
        if not results:
            return
        start = len(self._results)
        self.beginInsertRows(QModelIndex(), start, start + len(results) - 1)
        self._add(results)
        self.endInsertRows()

    def _add(self, results: Sequence[Result]) -> None:
        for result in results:
            row = len(self._results)
            after_good = row > 0 and self._results[row - 1].match == "good"
            if self.weak_from < 0 and result.match == "weak" and after_good:
                self.weak_from = row
            self._results.append(result)
            self._rows.setdefault(result.path, []).append(row)

    def same_as(self, results: Sequence[Result]) -> bool:
        return len(results) == len(self._results) and self.extended_by(results)

    def extended_by(self, results: Sequence[Result]) -> bool:
        """Whether ``results`` begin with the rows shown (and may add more after them)."""
        return len(results) >= len(self._results) and all(
            a.photo_id == b.photo_id for a, b in zip(results, self._results)
        )

    def is_weak(self, row: int) -> bool:
        """A weaker match shown after good ones (the grid dims it)."""
        return 0 <= self.weak_from <= row < len(self._results)

    def result(self, row: int) -> Result | None:
        return self._results[row] if 0 <= row < len(self._results) else None

    def results(self) -> list[Result]:
        return list(self._results)

    def row_of(self, photo_id: int) -> int:
        return next((i for i, r in enumerate(self._results) if r.photo_id == photo_id), -1)

    # Direct accessors for the delegate: Python to Python, no QVariant round trip (PySide 6.12 on
    # Python 3.11 mis-counts references of None/bools returned through index.data() when
    # called many thousand times, and crashes).
    def pixmap_at(self, row: int) -> QPixmap | None:
        result = self.result(row)
        return self._thumbs.pixmap(result.path, self.thumb_side) if result else None

    def name_at(self, row: int) -> str:
        result = self.result(row)
        return os.path.basename(result.path) if result else ""

    def failed_at(self, row: int) -> bool:
        result = self.result(row)
        return result is not None and self._thumbs.failed(result.path)

    def mark_at(self, row: int) -> bool | None:
        """The row's feedback mark: True (✓), False (✗) or None."""
        result = self.result(row)
        return self._marks.get(result.photo_id) if result else None

    def set_marks(self, marks: dict[int, bool]) -> None:
        """Show these feedback marks (the search controller owns them); repaints the rows."""
        if marks == self._marks:
            return
        self._marks = dict(marks)
        if self._results:
            self.dataChanged.emit(self.index(0), self.index(len(self._results) - 1), [MARK_ROLE])

    def set_thumb_side(self, side: int) -> None:
        if side != self.thumb_side:
            self.thumb_side = side
            if self._results:
                self.dataChanged.emit(
                    self.index(0),
                    self.index(len(self._results) - 1),
                    [Qt.ItemDataRole.DecorationRole],
                )

    # --- Qt model API --------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._results)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._results):
            return None
        result = self._results[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbs.pixmap(result.path, self.thumb_side)
        if role == Qt.ItemDataRole.DisplayRole:
            return os.path.basename(result.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(result)
        if role == PATH_ROLE:
            return result.path
        if role == ID_ROLE:
            return result.photo_id
        if role == SCORE_ROLE:
            return result.score
        if role == FAILED_ROLE:
            return self._thumbs.failed(result.path)
        if role == MARK_ROLE:
            return self._marks.get(result.photo_id)
        return None

    def _tooltip(self, result: Result) -> str:
        name = html.escape(os.path.basename(result.path))
        folder = html.escape(os.path.dirname(result.path))
        if self.kind == "library":
            detail = time.strftime("%d %b %Y, %H:%M", time.gmtime(result.score))
        else:
            detail = f"score {result.score:.3f}"
            if result.match is not None:
                detail += " · good match" if result.match == "good" else " · weaker match"
        mark = self._marks.get(result.photo_id)
        if mark is not None:
            detail += " · marked ✓ right" if mark else " · marked ✗ wrong"
        return f"<b>{name}</b><br>{detail}<br><span style='color:gray'>{folder}</span>"

    def _thumbnail_ready(self, path: str, side: int) -> None:
        if side != self.thumb_side:
            return
        for row in self._rows.get(path, ()):
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
