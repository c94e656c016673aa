"""A centred message for an empty grid: what happened and what to do next."""

from __future__ import annotations

from dataclasses import dataclass

from photosearch.gui.qt import QLabel, QPushButton, Qt, QVBoxLayout, QWidget, Signal, named
from photosearch.gui.style import app_icon


@dataclass(frozen=True)
class Empty:
    kind: str  # "no-folders" | "indexing" | "no-results" | "query-problem" | "error" | "loading"
    title: str
    body: str = ""
    action: str = ""  # button text; empty for none


class EmptyState(QWidget):
    action_clicked = Signal(str)  # the kind of the state whose button was pressed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        self._kind = ""
        self.icon = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.title = named(QLabel(alignment=Qt.AlignmentFlag.AlignCenter), "emptyTitle")
        self.title.setWordWrap(True)
        self.body = named(QLabel(alignment=Qt.AlignmentFlag.AlignCenter), "emptyBody")
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.button = named(QPushButton(), "primaryButton")
        self.button.clicked.connect(lambda: self.action_clicked.emit(self._kind))
        content = self._content = QWidget(self)
        content.setFixedWidth(500)
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)
        column.addWidget(self.icon)
        column.addSpacing(6)
        column.addWidget(self.title)
        column.addWidget(self.body)
        column.addSpacing(12)
        column.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout = QVBoxLayout(self)
        layout.addStretch(3)
        layout.addWidget(content, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(4)

    @property
    def kind(self) -> str:
        return self._kind

    def show_state(self, state: Empty) -> None:
        self._kind = state.kind
        self.title.setText(state.title)
        self.body.setText(state.body)
        self.body.setVisible(bool(state.body))
        # A centred box is sized from its size hint, which does not follow the wrapped text's
        # height: give the label the height its text needs at this width.
        width = self._content.width()
        self.body.setMinimumHeight(self.body.heightForWidth(width) if state.body else 0)
        self.button.setText(state.action)
        self.button.setVisible(bool(state.action))
        icon = app_icon() if state.kind in ("no-folders", "indexing", "loading") else None
        if icon is not None and not icon.isNull():
            self.icon.setPixmap(icon.pixmap(96, 96))
            self.icon.show()
        else:
            self.icon.hide()
