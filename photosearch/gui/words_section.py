"""The sidebar's *Your words*: each taught word with its number of examples. A click (or Enter)
shows the word's photos (the word run as a query: a smart album); the context menu renames or
deletes it (Delete asks first, as the menu does)."""

from __future__ import annotations

from photosearch.core.teach.words import TaughtWord
from photosearch.gui.qt import (
    QKeyEvent,
    QLabel,
    QListWidgetItem,
    QMenu,
    QSizePolicy,
    Qt,
    QWidget,
    Signal,
    named,
)
from photosearch.gui.row_list import RowList
from photosearch.gui.widgets import hbox, popup, vbox

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
        hbox(self, (32, 4, 10, 4), None, (self.name, 1), self.count)
        tip = f"“{word.word}”: taught from {examples_text(word)}. Click to see its photos."
        if not word.current:
            tip += " Fitted for another image model: refitted once its photos are indexed again."
        self.setToolTip(tip)


class WordList(RowList):
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
            self.delete_pressed.emit(self.key(item))
            return
        super().keyPressEvent(event)

    def _pick(self, item: QListWidgetItem) -> None:
        self.picked.emit(self.key(item))


class WordsSection(QWidget):
    word_picked = Signal(str)  # show the word's photos
    rename_requested = Signal(str)
    delete_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: dict[str, WordRow] = {}
        title = named(QLabel("YOUR WORDS"), "sidebarTitle")
        title.setContentsMargins(14, 10, 8, 2)
        self.list = named(WordList(self), "folderList")
        self.list.setAccessibleName("Your words")
        self.list.menu_requested.connect(lambda word, pos: popup(self.build_menu(word), pos))
        self.list.picked.connect(self.word_picked)
        self.list.delete_pressed.connect(self.delete_requested)
        self.hint = named(QLabel(HINT), "folderDetail")
        self.hint.setWordWrap(True)
        self.hint.setContentsMargins(14, 2, 14, 4)
        vbox(self, (0, 0, 0, 0), 2, title, self.hint, (self.list, 1))
        self.set_words([])

    def set_words(self, words: list[TaughtWord]) -> None:
        current = self.current_word()
        self.list.clear()
        self._rows.clear()
        for word in words:
            row = self._rows[word.word] = WordRow(word)
            item = self.list.add_row(word.word, row)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, word.word)  # the row paints it
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
        return self.list.current_key()

    def show_query(self, text: str) -> None:
        """Highlight the word whose photos are shown (none when the query is something else)."""
        key = " ".join(text.lower().split())
        for index in range(self.list.count()):
            item = self.list.item(index)
            if self.list.key(item) == key:
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
