"""The sidebar's *Your words*: each taught word with its number of examples. A click (or Enter)
shows the word's photos (the word run as a query: a smart album); the context menu renames or
deletes it (Delete asks first, as the menu does)."""

from __future__ import annotations

from photosearch.core.teach.words import TaughtWord
from photosearch.gui.qt import (
    QHBoxLayout,
    QKeyEvent,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPoint,
    QSize,
    QSizePolicy,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
    named,
)

WORD_ROLE = Qt.ItemDataRole.UserRole + 1
HINT = "Select photos and press Ctrl+T to teach a word of your own."


def examples_text(word: TaughtWord) -> str:
    text = f"{word.positives:,} photo{'s' if word.positives != 1 else ''}"
    if word.negatives:
        text += f" · {word.negatives:,} not"
    return text


class WordRow(QWidget):
    def __init__(self, word: TaughtWord, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = named(QLabel(), "wordName")
        self.name.setTextFormat(Qt.TextFormat.PlainText)
        self.name.setText(
            self.fontMetrics().elidedText(word.word, Qt.TextElideMode.ElideRight, 140)
        )
        self.count = named(QLabel(examples_text(word)), "folderDetail")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(32, 4, 10, 4)
        layout.addWidget(self.name, 1)
        layout.addWidget(self.count)
        tip = f"“{word.word}”: taught from {examples_text(word)}. Click to see its photos."
        if not word.current:
            tip += " Fitted for another image model: refitted once its photos are indexed again."
        self.setToolTip(tip)


class WordList(QListWidget):
    picked = Signal(str)
    delete_pressed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.itemClicked.connect(self._pick)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        item = self.currentItem()
        if item is not None and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._pick(item)
            return
        if item is not None and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_pressed.emit(str(item.data(WORD_ROLE)))
            return
        super().keyPressEvent(event)

    def _pick(self, item: QListWidgetItem) -> None:
        self.picked.emit(str(item.data(WORD_ROLE)))


class WordsSection(QWidget):
    word_picked = Signal(str)  # show the word's photos
    rename_requested = Signal(str)
    delete_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: dict[str, WordRow] = {}
        title = named(QLabel("YOUR WORDS"), "sidebarTitle")
        title.setContentsMargins(14, 10, 8, 2)
        self.list = WordList(self)
        self.list.setObjectName("folderList")
        self.list.setAccessibleName("Your words")
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.picked.connect(self.word_picked)
        self.list.delete_pressed.connect(self.delete_requested)
        self.hint = named(QLabel(HINT), "folderDetail")
        self.hint.setWordWrap(True)
        self.hint.setContentsMargins(14, 2, 14, 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(title)
        layout.addWidget(self.hint)
        layout.addWidget(self.list, 1)
        self.set_words([])

    def set_words(self, words: list[TaughtWord]) -> None:
        current = self.current_word()
        self.list.clear()
        self._rows.clear()
        for word in words:
            item = QListWidgetItem()
            item.setData(WORD_ROLE, word.word)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, word.word)  # the row paints it
            row = WordRow(word)
            item.setSizeHint(QSize(0, row.sizeHint().height()))
            self.list.addItem(item)
            self.list.setItemWidget(item, row)
            self._rows[word.word] = row
            if word.word == current:
                self.list.setCurrentItem(item)
        self.hint.setVisible(not words)
        self.list.setVisible(bool(words))
        # With no word yet the section is its title and hint; the folders get the room.
        grow = QSizePolicy.Policy.Preferred if words else QSizePolicy.Policy.Maximum
        self.setSizePolicy(QSizePolicy.Policy.Preferred, grow)

    def words(self) -> list[str]:
        return list(self._rows)

    def row_text(self, word: str) -> str:
        row = self._rows.get(word)
        return f"{row.name.text()} {row.count.text()}" if row else ""

    def current_word(self) -> str:
        item = self.list.currentItem()
        return str(item.data(WORD_ROLE)) if item else ""

    def show_query(self, text: str) -> None:
        """Highlight the word whose photos are shown (none when the query is something else)."""
        key = " ".join(text.lower().split())
        for index in range(self.list.count()):
            item = self.list.item(index)
            if item.data(WORD_ROLE) == key:
                self.list.setCurrentItem(item)
                return
        self.list.setCurrentRow(-1)

    def build_menu(self, word: str) -> QMenu:
        menu = QMenu(self)
        menu.addAction("Show Photos", lambda: self.word_picked.emit(word))
        menu.addSeparator()
        menu.addAction("Rename…", lambda: self.rename_requested.emit(word))
        menu.addAction("Delete…", lambda: self.delete_requested.emit(word))
        return menu

    def _menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        menu = self.build_menu(str(item.data(WORD_ROLE)))
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.list.viewport().mapToGlobal(pos))
