"""The search bar: words, plus an optional image shown as a chip; debounced as you type."""

from __future__ import annotations

import os

from photosearch.gui.qt import (
    QFrame,
    QKeyEvent,
    QLabel,
    QLineEdit,
    QPixmap,
    Qt,
    QTimer,
    QWidget,
    Signal,
    named,
)
from photosearch.gui.thumbnails import ThumbnailLoader
from photosearch.gui.widgets import hbox, tool_button

DEBOUNCE_MS = 250
CHIP_SIDE = 26


class QueryChip(QFrame):
    """The image part of a query: a small thumbnail, its name and a remove button."""

    removed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queryChip")
        self.thumb = QLabel()
        self.thumb.setFixedSize(CHIP_SIDE, CHIP_SIDE)
        self.thumb.setScaledContents(True)
        self.name = QLabel()
        close = tool_button("chipClose", "✕", self.removed, "Remove the image from the search")
        hbox(self, (3, 2, 2, 2), 6, self.thumb, self.name, close)

    def set_image(self, path: str, pixmap: QPixmap | None) -> None:
        name = os.path.basename(path)
        self.name.setText(self.fontMetrics().elidedText(name, Qt.TextElideMode.ElideMiddle, 160))
        self.setToolTip(path)
        self.set_pixmap(pixmap)

    def set_pixmap(self, pixmap: QPixmap | None) -> None:
        if pixmap is not None:
            self.thumb.setPixmap(pixmap)
        else:
            self.thumb.clear()


class SearchField(QLineEdit):
    escape_pressed = Signal()
    backspace_at_start = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escape_pressed.emit()
            return
        if (
            event.key() == Qt.Key.Key_Backspace
            and self.cursorPosition() == 0
            and not self.hasSelectedText()
        ):
            self.backspace_at_start.emit()
        super().keyPressEvent(event)


class SearchBar(QWidget):
    """Emits ``query_changed(text, image_path)`` 250 ms after typing stops, at once on Enter or
    when the image changes; Esc clears both."""

    query_changed = Signal(str, str)  # text, image path ("" for none)
    settings_requested = Signal()

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._thumbs = thumbnails
        self._image = ""
        self._emitted: tuple[str, str] | None = None
        self.chip = QueryChip(self)
        self.chip.hide()
        self.field = named(SearchField(self), "searchField")
        self.field.setPlaceholderText(
            "Search your photos: words like “dog on a beach”, or drop a photo here"
        )
        self.field.setClearButtonEnabled(True)
        self.field.setAcceptDrops(False)  # drops go to the window: an image becomes a chip
        self.settings_button = tool_button("flatButton", "⚙", self.settings_requested, "Settings")
        hbox(self, (14, 10, 10, 10), 8, self.chip, (self.field, 1), self.settings_button)

        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self._emit)
        self.field.textEdited.connect(lambda _text: self._debounce.start())
        self.field.returnPressed.connect(lambda: self._emit(force=True))
        self.field.escape_pressed.connect(self.clear)
        self.field.backspace_at_start.connect(self._backspace_chip)
        self.chip.removed.connect(lambda: self.set_image(""))
        # The line edit's clear button changes the text without textEdited on older Qt.
        self.field.textChanged.connect(self._text_changed)
        thumbnails.ready.connect(self._thumbnail_ready)

    # --- state ----------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return self.field.text()

    @property
    def image(self) -> str:
        return self._image

    def set_image(self, path: str) -> None:
        """Make ``path`` the image part of the query ("" removes it); searches at once."""
        self._image = path
        if path:
            side = int(CHIP_SIDE * self.devicePixelRatioF())
            self.chip.set_image(path, self._thumbs.pixmap(path, side))
            self.chip.show()
        else:
            self.chip.hide()
        self._emit(force=True)

    def set_text(self, text: str) -> None:
        self.field.setText(text)
        self._emit(force=True)

    def clear(self) -> None:
        self._debounce.stop()
        self.field.clear()
        self._image = ""
        self.chip.hide()
        self._emit(force=True)

    def stop(self) -> None:
        self._debounce.stop()

    def focus(self) -> None:
        self.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.field.selectAll()

    # --- internals ------------------------------------------------------------------------
    def _text_changed(self, text: str) -> None:
        if not text and not self._debounce.isActive():
            self._debounce.start()

    def _backspace_chip(self) -> None:
        if self._image:
            self.set_image("")

    def _emit(self, force: bool = False) -> None:
        self._debounce.stop()
        query = (self.field.text().strip(), self._image)
        if query == self._emitted and not force:
            return
        self._emitted = query
        self.query_changed.emit(*query)

    def _thumbnail_ready(self, path: str, side: int) -> None:
        if path == self._image and side == int(CHIP_SIDE * self.devicePixelRatioF()):
            self.chip.set_pixmap(self._thumbs.pixmap(path, side))
