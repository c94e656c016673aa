"""The status bar: a message, the model state, indexing progress with pause/resume, and the
count of photos that could not be read (click for the list)."""

from __future__ import annotations

import os
from typing import Any

from photosearch.core.library.rows import Photo
from photosearch.gui.qt import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QProgressBar,
    QStatusBar,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
    named,
)
from photosearch.gui.widgets import hbox


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"about {max(seconds, 1)} s left"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds // 3600} h {round(seconds % 3600 / 60)} min left"


def progress_text(progress: Any, paused: bool = False) -> str:
    if progress.phase == "wait":
        holder = f" (pid {progress.pid})" if getattr(progress, "pid", None) else ""
        return f"Waiting for another photosearch process{holder} that is indexing this library…"
    if progress.phase == "scan":
        return (
            f"Scanning folders… {progress.done:,} files" if progress.done else "Scanning folders…"
        )
    if progress.phase == "embed":
        parts = [f"Indexing {progress.done:,} of {progress.total:,}"]
        if paused:
            parts.append("paused")
        else:
            if progress.rate > 0:
                parts.append(f"{progress.rate:.0f} photos/s")
            eta = format_eta(progress.eta_s)
            if eta:
                parts.append(eta)
        return " · ".join(parts)
    return ""


class IndexProgress(QWidget):
    pause_clicked = Signal()
    resume_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(160)
        self.button = named(QToolButton(), "flatButton")
        self.button.clicked.connect(self._toggle)
        hbox(self, (0, 0, 6, 0), 8, self.label, self.bar, self.button)
        self._paused = False
        self._last: Any = None
        self.set_paused(False)

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        self.button.setText("▶" if paused else "❚❚")
        self.button.setToolTip("Resume indexing" if paused else "Pause indexing")
        if self._last is not None:
            self.label.setText(progress_text(self._last, paused))

    def _toggle(self) -> None:
        (self.resume_clicked if self._paused else self.pause_clicked).emit()

    def show_progress(self, progress: Any) -> None:
        self._last = progress
        self.label.setText(progress_text(progress, self._paused))
        if progress.phase == "embed" and progress.total:
            self.bar.setRange(0, progress.total)
            self.bar.setValue(progress.done)
        else:
            self.bar.setRange(0, 0)  # busy
        self.button.setVisible(progress.phase == "embed")


class ErrorsDialog(QDialog):
    """The photos that could not be read, with the reason."""

    def __init__(self, photos: list[Photo], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Photos that could not be read")
        self.resize(760, 420)
        table = QTableWidget(len(photos), 3, self)
        table.setHorizontalHeaderLabels(["File", "Problem", "Folder"])
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for row, photo in enumerate(photos):
            table.setItem(row, 0, QTableWidgetItem(os.path.basename(photo.path)))
            table.setItem(row, 1, QTableWidgetItem(photo.error or "unknown error"))
            table.setItem(row, 2, QTableWidgetItem(os.path.dirname(photo.path)))
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                "These files are skipped until they change. Fix or replace them and they are "
                "indexed on the next scan."
            )
        )
        layout.addWidget(table, 1)
        layout.addWidget(buttons)


class StatusBar(QStatusBar):
    pause_clicked = Signal()
    resume_clicked = Signal()
    errors_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.message = QLabel()
        self._busy = ""
        self.model_state = QLabel()
        self.progress = IndexProgress(self)
        self.progress.hide()
        self.errors = named(QToolButton(), "linkButton")
        self.errors.hide()
        self.errors.clicked.connect(self.errors_clicked)
        self.damage = QLabel()  # stays until the app closes: searches replace `message`
        self.damage.setWordWrap(True)
        self.damage.hide()
        self.addWidget(self.damage, 1)
        self.addWidget(self.message, 1)
        self.addPermanentWidget(self.model_state)
        self.addPermanentWidget(self.progress)
        self.addPermanentWidget(self.errors)
        self.progress.pause_clicked.connect(self.pause_clicked)
        self.progress.resume_clicked.connect(self.resume_clicked)

    def set_message(self, text: str) -> None:
        self.message.setText(text)

    def show_busy(self, text: str) -> None:
        """What a search is doing ("Searching…"); "" takes it away, unless another message (what
        teaching a word did, say) has taken its place meanwhile."""
        if text:
            self._busy = text
            self.message.setText(text)
        elif self.message.text() == self._busy:
            self.message.setText("")

    def show_damage(self, text: str) -> None:
        """The library file is damaged: say so, with what to do, for as long as the app runs."""
        self.damage.setText(f"⚠ {text}")
        self.damage.setToolTip(text)
        self.damage.show()

    def set_model_state(self, state: str) -> None:
        texts = {
            "loading": "Loading the image model…",
            "failed": "Image model unavailable",
        }
        self.model_state.setText(texts.get(state, ""))
        self.model_state.setVisible(state in texts)

    def show_progress(self, progress: Any) -> None:
        if progress.phase == "done":
            self.progress.hide()
            return
        self.progress.show_progress(progress)
        self.progress.show()

    def indexing_finished(self) -> None:
        self.progress.hide()

    def set_paused(self, paused: bool) -> None:
        self.progress.set_paused(paused)

    def set_error_count(self, count: int) -> None:
        self.errors.setText(f"⚠ {count:,} could not be read" if count else "")
        self.errors.setToolTip("Show the photos that could not be read")
        self.errors.setVisible(count > 0)
