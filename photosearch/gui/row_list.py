"""The sidebar's lists (folders, taught words): each row a widget that paints itself, each item
keeping its row's key (a folder's path, a word)."""

from __future__ import annotations

from photosearch.gui.qt import QListWidget, QListWidgetItem, QPoint, QSize, Qt, QWidget, Signal

KEY_ROLE = Qt.ItemDataRole.UserRole + 1


class RowList(QListWidget):
    """A list of keyed row widgets; a right click on a row asks for its menu."""

    menu_requested = Signal(str, object)  # the row's key, the click's global QPoint

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)

    def add_row(self, key: str, row: QWidget) -> QListWidgetItem:
        """A new last item showing ``row``, as tall as the row wants."""
        item = QListWidgetItem()
        item.setData(KEY_ROLE, key)
        fit_row(item, row)
        self.addItem(item)
        self.setItemWidget(item, row)
        return item

    @staticmethod
    def key(item: QListWidgetItem) -> str:
        return str(item.data(KEY_ROLE))

    def current_key(self) -> str:
        item = self.currentItem()
        return self.key(item) if item else ""

    def _menu(self, pos: QPoint) -> None:
        item = self.itemAt(pos)
        if item is not None:
            self.menu_requested.emit(self.key(item), self.viewport().mapToGlobal(pos))


def fit_row(item: QListWidgetItem, row: QWidget) -> None:
    """The item as tall as its row widget wants (the list's width decides the rest)."""
    item.setSizeHint(QSize(0, row.sizeHint().height()))
