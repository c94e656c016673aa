"""The preview: the photo large, its details and tags, and a strip of similar photos."""

from __future__ import annotations

import os
import time
from typing import Any

from photosearch.core.library.rows import Photo
from photosearch.core.library.store import Library
from photosearch.core.search.searcher import Searcher
from photosearch.core.units import format_bytes
from photosearch.gui import search_service
from photosearch.gui.errors import ErrorReporter
from photosearch.gui.photo_grid import PhotoGrid
from photosearch.gui.qt import (
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QImage,
    QKeyEvent,
    QLabel,
    QPixmap,
    QPushButton,
    QResizeEvent,
    QSizePolicy,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
    named,
)
from photosearch.gui.results_model import ResultsModel
from photosearch.gui.tasks import TaskRunner
from photosearch.gui.thumbnails import ThumbnailLoader, decode_scaled

PREVIEW_SIDE = 1400  # decode at most this many px on the shorter side
STRIP_CELL = 92
SIMILAR_COUNT = 24


def photo_date(photo: Photo) -> str:
    if photo.taken_at is not None:  # naive local capture time stored as UTC seconds
        return time.strftime("%A %d %B %Y, %H:%M", time.gmtime(photo.taken_at))
    return time.strftime("%A %d %B %Y, %H:%M", time.localtime(photo.mtime)) + " (file date)"


class ScaledImage(QLabel):
    """Shows a pixmap as large as fits, keeping its aspect ratio."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewImage")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(320, 240)
        # Ignored: the pixmap must not feed back into the layout (a QLabel otherwise grows to its
        # pixmap, the pixmap is rescaled to the bigger label, and the photo ends up cropped).
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self._source = QPixmap()

    def set_image(self, image: QImage) -> None:
        self._source = QPixmap.fromImage(image) if not image.isNull() else QPixmap()
        self._rescale()

    def clear_image(self, text: str = "") -> None:
        self._source = QPixmap()
        self.setPixmap(QPixmap())
        self.setText(text)

    def has_image(self) -> bool:
        return not self._source.isNull()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._source.isNull():
            return
        ratio = self.devicePixelRatioF()
        scaled = self._source.scaled(
            self.size() * ratio,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        scaled.setDevicePixelRatio(ratio)
        self.setText("")
        self.setPixmap(scaled)


class PreviewDialog(QDialog):
    open_requested = Signal(str)
    similar_requested = Signal(str)
    show_in_folder_requested = Signal(str)
    step_requested = Signal(int)  # -1 previous, +1 next photo of the grid

    def __init__(
        self,
        library: Library,
        searcher: Searcher,
        thumbnails: ThumbnailLoader,
        word_vectors: str = "",
        parent: QWidget | None = None,
        errors: ErrorReporter | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preview")
        self.resize(1180, 760)
        self.library = library
        self.searcher = searcher
        self.word_vectors = word_vectors
        self._runner = TaskRunner(2, "preview", self, errors=errors)
        self._generation = 0
        self.path = ""
        self.photo: Photo | None = None

        self.image = ScaledImage(self)
        self.name = named(QLabel(), "previewName")
        self.name.setWordWrap(True)
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QFormLayout()
        self.details.setHorizontalSpacing(14)
        self.details.setVerticalSpacing(6)
        self._values: dict[str, QLabel] = {}
        for key in ("Date", "Camera", "Dimensions", "File size", "Folder"):
            value = named(QLabel(), "previewValue")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._values[key] = value
            self.details.addRow(named(QLabel(key), "previewKey"), value)
        self.tags = QWidget()
        self.tags_layout = FlowRow(self.tags)
        open_button = named(QPushButton("Open"), "primaryButton")
        open_button.clicked.connect(lambda: self.open_requested.emit(self.path))
        similar_button = named(QPushButton("Find Similar"), "secondaryButton")
        similar_button.clicked.connect(self._find_similar)
        folder_button = named(QPushButton("Show in Folder"), "secondaryButton")
        folder_button.clicked.connect(lambda: self.show_in_folder_requested.emit(self.path))

        side = QVBoxLayout()
        side.setContentsMargins(20, 20, 20, 20)
        side.setSpacing(12)
        side.addWidget(self.name)
        side.addLayout(self.details)
        side.addSpacing(4)
        side.addWidget(named(QLabel("TAGS"), "sectionTitle"))
        side.addWidget(self.tags)
        side.addStretch(1)
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        buttons.addWidget(open_button)
        buttons.addWidget(similar_button)
        buttons.addWidget(folder_button)
        side.addLayout(buttons)
        side_panel = QFrame()
        side_panel.setFixedWidth(360)
        side_panel.setLayout(side)

        self.strip_model = ResultsModel(thumbnails, self)
        self.strip = PhotoGrid(self.strip_model, STRIP_CELL, self, captions=False)
        self.strip.setFlow(PhotoGrid.Flow.LeftToRight)
        self.strip.setWrapping(False)
        self.strip.setFixedHeight(STRIP_CELL + 18)
        self.strip.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.strip.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.strip.clicked.connect(lambda index: self._show_strip_row(index.row()))
        self.strip.open_requested.connect(self._show_strip_row)
        strip_box = QVBoxLayout()
        strip_box.setContentsMargins(14, 8, 14, 10)
        strip_box.setSpacing(4)
        strip_box.addWidget(named(QLabel("SIMILAR PHOTOS"), "sectionTitle"))
        strip_box.addWidget(self.strip)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(0)
        top.addWidget(self.image, 1)
        top.addWidget(side_panel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(top, 1)
        layout.addLayout(strip_box)

    # --- showing a photo --------------------------------------------------------------------
    def _show_strip_row(self, row: int) -> None:
        result = self.strip_model.result(row)
        if result is not None:
            self.show_photo(result.path)

    def show_photo(self, path: str) -> None:
        self._generation += 1
        generation = self._generation
        self.path = path
        self.photo = None
        self.setWindowTitle(os.path.basename(path))
        self.name.setText(os.path.basename(path))
        self._values["Folder"].setText(os.path.dirname(path))
        for key in ("Date", "Camera", "Dimensions", "File size"):
            self._values[key].setText("…")
        self.image.clear_image("Loading…")
        self._set_tags(None)
        self.strip_model.set_results([], "query")

        def guard(fn: Any) -> Any:
            return lambda value: fn(value) if generation == self._generation else None

        library = self.library
        self._runner.run(lambda: decode_scaled(path, PREVIEW_SIDE), guard(self._image_loaded))
        self._runner.run(lambda: library.photo_by_path(path), guard(self._photo_found))

    def _photo_found(self, photo: Photo | None) -> None:
        """The photo's record came from the library: its details, then its tags and the similar
        photos (each read on the worker)."""
        self.photo = photo
        if photo is None:
            for key in ("Date", "Camera", "Dimensions", "File size"):
                self._values[key].setText("—")
            return
        self._values["Date"].setText(photo_date(photo))
        self._values["Camera"].setText(photo.camera or "—")
        dims = f"{photo.width} × {photo.height}" if photo.width and photo.height else "—"
        self._values["Dimensions"].setText(dims)
        self._values["File size"].setText(format_bytes(photo.size))
        generation = self._generation

        def guard(fn: Any) -> Any:
            return lambda value: fn(value) if generation == self._generation else None

        photo_id, searcher, vectors = photo.id, self.searcher, self.word_vectors
        self._runner.run(
            lambda: search_service.photo_tags(searcher, photo_id, word_vectors=vectors),
            guard(self._set_tags),
            guard(lambda _exc: self._set_tags([])),
        )
        self._runner.run(
            lambda: search_service.similar_to_photo(searcher, photo_id, SIMILAR_COUNT),
            guard(lambda results: self.strip_model.set_results(results, "query")),
        )

    def _image_loaded(self, image: QImage) -> None:
        if image.isNull():
            self.image.clear_image("This photo cannot be opened.")
        else:
            self.image.set_image(image)

    def _set_tags(self, tags: list[str] | None) -> None:
        self.tags_layout.clear()
        if tags is None:
            self.tags_layout.add(named(QLabel("…"), "previewKey"))
        elif not tags:
            self.tags_layout.add(named(QLabel("none yet"), "previewKey"))
        else:
            for tag in tags:
                self.tags_layout.add(named(QLabel(tag), "tag"))

    def _find_similar(self) -> None:
        self.similar_requested.emit(self.path)
        self.close()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Space, Qt.Key.Key_Escape):
            self.close()
            return
        if key == Qt.Key.Key_Left:
            self.step_requested.emit(-1)
            return
        if key == Qt.Key.Key_Right:
            self.step_requested.emit(1)
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.open_requested.emit(self.path)
            return
        super().keyPressEvent(event)

    def shutdown(self) -> None:
        self._runner.shutdown()


class FlowRow:
    """Tag labels laid out in wrapped rows (a tiny flow layout over nested box layouts)."""

    PER_ROW_WIDTH = 310

    def __init__(self, widget: QWidget) -> None:
        self.widget = widget
        self.layout = QVBoxLayout(widget)
        self.layout.setContentsMargins(0, 0, 0, 0)
        self.layout.setSpacing(6)
        self._rows: list[tuple[QHBoxLayout, int]] = []
        self._labels: list[QLabel] = []

    def clear(self) -> None:
        for label in self._labels:
            label.setParent(None)
            label.deleteLater()
        self._labels.clear()
        while self.layout.count():
            item = self.layout.takeAt(0)
            if item is not None and (inner := item.layout()) is not None:
                inner.deleteLater()
        self._rows.clear()

    def add(self, label: QLabel) -> None:
        width = label.sizeHint().width() + 6
        if not self._rows or self._rows[-1][1] + width > self.PER_ROW_WIDTH:
            row = QHBoxLayout()
            row.setSpacing(6)
            row.addStretch(1)
            self.layout.addLayout(row)
            self._rows.append((row, 0))
        row, used = self._rows[-1]
        row.insertWidget(row.count() - 1, label)
        self._rows[-1] = (row, used + width)
        self._labels.append(label)

    def texts(self) -> list[str]:
        return [label.text() for label in self._labels]
