"""The sidebar: watched folders with their photo counts and status, add and remove; under them
*Your words* (:mod:`photosearch.gui.words_section`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from photosearch.gui.qt import (
    QHBoxLayout,
    QKeyEvent,
    QLabel,
    QListWidgetItem,
    QMenu,
    QMouseEvent,
    QPushButton,
    Qt,
    QWidget,
    Signal,
    named,
)
from photosearch.gui.row_list import RowList, fit_row
from photosearch.gui.widgets import hbox, popup, tool_button, vbox
from photosearch.gui.words_section import WordsSection


@dataclass(frozen=True)
class FolderInfo:
    path: str
    online: bool = True
    counts: dict[str, int] = field(default_factory=dict)
    indexing: bool = False  # the indexer is running and this folder has photos pending

    @property
    def total(self) -> int:
        return sum(n for status, n in self.counts.items() if status not in ("missing",))

    def detail(self) -> tuple[str, str]:
        """(count line, warning line) shown under the folder's name."""
        indexed = self.counts.get("indexed", 0)
        pending = self.counts.get("pending", 0)
        errors = self.counts.get("error", 0)
        if not self.online:
            line = f"offline · {indexed:,} photos"
        elif self.indexing and pending:
            line = f"indexing · {indexed:,} of {indexed + pending:,}"
        elif pending:
            line = f"{indexed:,} photos · {pending:,} waiting"
        else:
            line = f"{indexed:,} photo{'s' if indexed != 1 else ''}"
        warn = f"{errors:,} could not be read" if errors else ""
        return line, warn


class FolderRow(QWidget):
    def __init__(self, info: FolderInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = named(QLabel(), "folderName")
        self.detail = named(QLabel(), "folderDetail")
        self.warn = named(QLabel(), "folderBadgeWarn")
        self.status = QLabel()
        self.status.setFixedWidth(14)
        self.status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = hbox(self, (10, 6, 8, 6), 8)
        layout.addWidget(self.status, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(vbox(None, (0, 0, 0, 0), 1, self.name, self.detail, self.warn), 1)
        self.update_info(info)

    def update_info(self, info: FolderInfo) -> None:
        name = os.path.basename(info.path.rstrip(os.sep)) or info.path
        self.name.setText(self.fontMetrics().elidedText(name, Qt.TextElideMode.ElideMiddle, 170))
        line, warn = info.detail()
        self.detail.setText(line)
        self.warn.setText(warn)
        self.warn.setVisible(bool(warn))
        if not info.online:
            dot, color, tip = "○", "#8c959f", "Offline: the folder is not reachable"
        elif info.indexing and info.counts.get("pending", 0):
            dot, color, tip = "●", "#2f6fde", "Indexing"
        elif info.counts.get("error", 0):
            dot, color, tip = "●", "#d97a00", "Some photos could not be read"
        else:
            dot, color, tip = "●", "#2da44e", "Up to date"
        self.status.setText(dot)
        self.status.setStyleSheet(f"color: {color}; font-size: 10px;")
        self.setToolTip(f"{info.path}\n{tip}")


class FolderList(RowList):
    """The folders. A click picks one to show on its own; a click on it again, on empty space,
    or Esc shows every folder. Only the user's clicks pick: keyboard focus moving into the list
    (which makes Qt select a first row) changes nothing."""

    delete_pressed = Signal()
    picked = Signal(str)  # "" = every folder
    picked_path = ""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.currentItem():
            self.delete_pressed.emit()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.pick(None)
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentItem():
            self.pick(self.currentItem())
            return
        super().keyPressEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        item = self.itemAt(event.position().toPoint())
        same = item is not None and self.key(item) == self.picked_path
        self.pick(None if item is None or same else item)

    def pick(self, item: QListWidgetItem | None) -> None:
        if item is None:
            self.setCurrentRow(-1)
        else:
            self.setCurrentItem(item)
        path = self.key(item) if item is not None else ""
        if path != self.picked_path:
            self.picked_path = path
            self.picked.emit(path)


class Sidebar(QWidget):
    add_requested = Signal()
    remove_requested = Signal(str)  # folder path
    show_requested = Signal(str)
    reindex_requested = Signal()
    folder_selected = Signal(str)  # a folder to show on its own; "" = every folder

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setMinimumWidth(200)
        self._rows: dict[str, FolderRow] = {}
        title = named(QLabel("FOLDERS"), "sidebarTitle")
        add = tool_button("flatButton", "+", self.add_requested, "Add a folder (Ctrl+O)")
        header = QHBoxLayout()
        header.setContentsMargins(14, 14, 8, 4)
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(add)
        self.list = named(FolderList(self), "folderList")
        self.list.menu_requested.connect(lambda path, pos: popup(self.build_menu(path), pos))
        self.list.delete_pressed.connect(self._remove_current)
        self.list.picked.connect(self.folder_selected)
        self.hint = named(
            QLabel("No folders yet.\nAdd one, or drop a folder on the window."), "folderDetail"
        )
        self.hint.setWordWrap(True)
        self.add_button = named(QPushButton("Add Folder…"), "secondaryButton")
        self.add_button.clicked.connect(self.add_requested)
        self.words = WordsSection(self)
        bottom = hbox(None, (12, 0, 12, 0), None, self.add_button)
        vbox(self, (0, 0, 0, 10), 4, header, self.hint, (self.list, 3), bottom, (self.words, 2))
        self.hint.setContentsMargins(14, 4, 14, 4)

    def set_folders(self, folders: list[FolderInfo]) -> None:
        paths = [f.path for f in folders]
        if paths != list(self._rows):
            current = self.current_path()
            self.list.blockSignals(True)  # a rebuild is not the user picking a folder
            self.list.clear()
            self._rows.clear()
            for info in folders:
                row = self._rows[info.path] = FolderRow(info)
                item = self.list.add_row(info.path, row)
                if info.path == current:
                    self.list.setCurrentItem(item)
            self.list.blockSignals(False)
            if self.list.picked_path and self.list.picked_path not in self._rows:
                self.list.pick(None)  # the picked folder was removed
        else:
            for index, info in enumerate(folders):
                row = self._rows[info.path]
                row.update_info(info)
                fit_row(self.list.item(index), row)
        self.hint.setVisible(not folders)

    def folder_paths(self) -> list[str]:
        return list(self._rows)

    def row_text(self, path: str) -> str:
        row = self._rows.get(path)
        return f"{row.name.text()} {row.detail.text()} {row.warn.text()}".strip() if row else ""

    def current_path(self) -> str:
        return self.list.current_key()

    def _remove_current(self) -> None:
        path = self.current_path()
        if path:
            self.remove_requested.emit(path)

    def build_menu(self, path: str) -> QMenu:
        menu = QMenu(self)
        menu.addAction("Show in File Manager", lambda: self.show_requested.emit(path))
        menu.addAction("Rescan Folders", lambda: self.reindex_requested.emit())
        menu.addSeparator()
        menu.addAction("Remove from Library…", lambda: self.remove_requested.emit(path))
        return menu
