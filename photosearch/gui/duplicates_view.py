"""The Duplicates dialog: groups of exact and near-duplicate photos, side by side.

Groups are computed on the dialog's task runner (:mod:`photosearch.gui.tasks`) over the app's
library: the job finds the groups and reads small thumbnails as :class:`QImage` (safe off the GUI
thread). Results come back by signal; widgets are only built on the GUI thread.

Each photo has a "Keep" checkbox; the suggested keeper (largest resolution) starts checked. The
"Move to Trash" button sends the unchecked photos to the system trash with ``send2trash`` — only
after an explicit confirmation that says how many files, only when every group keeps at least one
photo, and only for files that are unchanged since they were indexed. This is the only place the
app writes to a user's photos. The files are trashed on the runner too (never on the GUI thread),
then marked missing through the store's writer.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from send2trash import send2trash

from photosearch.core.library.photo_status import mark_missing
from photosearch.core.library.store import Library
from photosearch.core.search.duplicates import (
    Cancelled,
    DuplicateGroup,
    DuplicatePhoto,
    find_duplicates,
)
from photosearch.core.units import format_bytes
from photosearch.gui.errors import ErrorReporter, plain
from photosearch.gui.qt import (
    QCheckBox,
    QDialog,
    QFrame,
    QHBoxLayout,
    QImage,
    QImageReader,
    QLabel,
    QMessageBox,
    QPixmap,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSize,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
)
from photosearch.gui.tasks import TaskRunner

log = logging.getLogger(__name__)

THUMB = 160
MAX_GROUPS_SHOWN = 300  # thumbnails for more would take long to load; the rest are counted


def _format_date(stamp: float) -> str:
    # Capture times are naive local times stored as UTC seconds: format them back as UTC.
    return dt.datetime.fromtimestamp(stamp, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


@dataclass
class DuplicatesResult:
    groups: list[DuplicateGroup]
    thumbnails: dict[str, QImage] = field(default_factory=dict)
    total_groups: int = 0


def find_groups(
    library: Library,
    threshold: float | None,
    cancel: threading.Event,
    progress: Any = None,
) -> DuplicatesResult | None:
    """Runs on the worker: library -> groups -> thumbnails (None when cancelled)."""
    try:
        groups = find_duplicates(library, threshold, progress=progress, cancel=cancel)
    except Cancelled:
        return None
    result = DuplicatesResult(groups[:MAX_GROUPS_SHOWN], total_groups=len(groups))
    for group in result.groups:
        for photo in group.photos:
            if cancel.is_set():
                return None
            result.thumbnails[photo.path] = _thumbnail(photo.path)
    return result


def trash_files(
    library: Library, chosen: list[DuplicatePhoto]
) -> tuple[list[DuplicatePhoto], list[str]]:
    """Runs on the worker: sends the photos unchanged since they were indexed to the trash and
    marks them missing; returns the trashed photos and what could not be moved."""
    trashed: list[DuplicatePhoto] = []
    problems: list[str] = []
    for photo in chosen:
        try:
            st = os.stat(photo.path)
        except OSError:
            problems.append(f"{photo.path}: no longer there")
            continue
        if st.st_size != photo.size:
            problems.append(f"{photo.path}: changed since it was indexed; left alone")
            continue
        try:
            send2trash(photo.path)
        except Exception as exc:  # TrashPermissionError, OSError: report and go on
            problems.append(f"{photo.path}: {exc}")
            continue
        trashed.append(photo)
    if trashed:
        mark_missing(library, [p.photo_id for p in trashed])
    return trashed, problems


def _thumbnail(path: str) -> QImage:
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > THUMB:
        reader.setScaledSize(size.scaled(QSize(THUMB, THUMB), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return image if not image.isNull() else QImage()


class _PhotoCard(QFrame):
    def __init__(self, photo: DuplicatePhoto, keeper: bool, image: QImage | None) -> None:
        super().__init__()
        self.photo = photo
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        thumb = QLabel()
        thumb.setFixedSize(THUMB, THUMB)
        thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        if image is not None and not image.isNull():
            thumb.setPixmap(QPixmap.fromImage(image))
        else:
            thumb.setText("(no preview)")
        layout.addWidget(thumb)
        name = QLabel(Path(photo.path).name)
        name.setToolTip(photo.path)
        name.setMaximumWidth(THUMB + 40)
        layout.addWidget(name)
        res = f"{photo.width}×{photo.height}" if photo.width and photo.height else "?"
        details = f"{res} · {format_bytes(photo.size)}\n{_format_date(photo.date)}"
        if keeper:
            details += "\nsuggested keeper"
        elif photo.exact:
            details += "\nexact copy"
        else:
            details += f"\nsimilarity {photo.score:.3f}"
        layout.addWidget(QLabel(details))
        self.keep = QCheckBox("Keep")
        self.keep.setChecked(keeper)
        layout.addWidget(self.keep)


class DuplicatesDialog(QDialog):
    """Review duplicate groups and move the unwanted copies to the trash."""

    groups_ready = Signal(int)  # number of groups found
    trashed = Signal(list)  # paths moved to the trash
    _progress = Signal(int, int)  # emitted on the worker, received on the GUI thread

    def __init__(
        self,
        library: Library,
        parent: QWidget | None = None,
        threshold: float | None = None,
        runner: TaskRunner | None = None,
        errors: ErrorReporter | None = None,
    ) -> None:
        """``library`` is the app's (its reads and its one writer); the dialog owns ``runner``
        (a new one by default) and shuts it down when it closes."""
        super().__init__(parent)
        self.library = library
        self.threshold = threshold
        self.groups: list[DuplicateGroup] | None = None  # None until computed
        self.cards: list[list[_PhotoCard]] = []
        self.error: str | None = None
        self._thumbnails: dict[str, QImage] = {}
        self._cancel = threading.Event()
        self._runner = runner or TaskRunner(1, "duplicates", self, errors=errors)
        self._runner.setParent(self)
        self._errors = errors
        self._progress.connect(self._on_progress)

        self.setWindowTitle("Duplicates")
        self.resize(960, 700)
        layout = QVBoxLayout(self)
        self.status = QLabel("Looking for duplicates…")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        layout.addWidget(self.progress)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        layout.addWidget(self.scroll_area, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.trash_button = QPushButton("Move Unkept to Trash…")
        self.trash_button.setEnabled(False)
        self.trash_button.clicked.connect(self.trash_unkept)
        buttons.addWidget(self.trash_button)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)

        self._start()

    # --- background work -------------------------------------------------------------------
    def _start(self) -> None:
        library, threshold, cancel = self.library, self.threshold, self._cancel
        self._runner.run(
            lambda: find_groups(library, threshold, cancel, self._progress.emit),
            self._on_finished,
            self._on_failed,
        )

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _on_failed(self, exc: BaseException) -> None:
        if self._errors is not None:
            self._errors.report(exc, "Could not look for duplicates")
        else:
            log.error("finding duplicates failed", exc_info=exc)
        message = str(exc)
        self.error = message
        self.groups = []
        self.progress.hide()
        self.status.setText(f"Could not look for duplicates: {message}")
        self.groups_ready.emit(0)

    def _on_finished(self, result: DuplicatesResult | None) -> None:
        if result is None:  # cancelled
            return
        self.groups = result.groups
        self._thumbnails = result.thumbnails
        self.progress.hide()
        self._build()
        if result.total_groups > len(result.groups):
            self.status.setText(
                self.status.text()
                + f" Showing the first {len(result.groups)} of {result.total_groups} groups."
            )
        self.groups_ready.emit(len(self.groups))

    def done(self, result: int) -> None:
        self._cancel.set()
        self._runner.shutdown(10_000)
        super().done(result)

    # --- the groups ------------------------------------------------------------------------
    def _build(self) -> None:
        groups = self.groups or []
        content = QWidget()
        column = QVBoxLayout(content)
        self.cards = []
        for n, group in enumerate(groups, 1):
            box = QFrame()
            box.setFrameShape(QFrame.Shape.Box)
            box_layout = QVBoxLayout(box)
            box_layout.addWidget(
                QLabel(
                    f"<b>Group {n}</b> · {len(group.photos)} photos · "
                    f"{format_bytes(group.reclaimable)} in copies"
                )
            )
            row = QHBoxLayout()
            cards = []
            for k, photo in enumerate(group.photos):
                card = _PhotoCard(photo, k == 0, self._thumbnails.get(photo.path))
                card.keep.toggled.connect(self._update_button)
                row.addWidget(card)
                cards.append(card)
            row.addStretch(1)
            box_layout.addLayout(row)
            column.addWidget(box)
            self.cards.append(cards)
        column.addStretch(1)
        self.scroll_area.setWidget(content)
        if groups:
            self.status.setText(
                f"{len(groups)} groups of duplicates. Check the photos to keep; the others can be "
                "moved to the trash."
            )
        else:
            self.status.setText("No duplicates found.")
        self._update_button()

    def _update_button(self, *_: Any) -> None:
        count = len(self.selected_for_trash())
        self.trash_button.setEnabled(count > 0)
        self.trash_button.setText(f"Move {count} to Trash…" if count else "Move Unkept to Trash…")

    def selected_for_trash(self) -> list[DuplicatePhoto]:
        return [c.photo for cards in self.cards for c in cards if not c.keep.isChecked()]

    # --- the one write to the user's photos ------------------------------------------------
    def _confirm(self, count: int, size: int) -> bool:
        """Ask before trashing; tests replace this."""
        answer = QMessageBox.question(
            self,
            "Move to Trash",
            f"Move {count} file{'s' if count != 1 else ''} ({format_bytes(size)}) to the trash?\n\n"
            "They can be restored from the system trash.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return bool(answer == QMessageBox.StandardButton.Yes)

    def trash_unkept(self) -> bool:
        """Move the unchecked photos to the trash after confirmation (on the runner; ``trashed``
        says which went). False when nothing is to be moved."""
        unkept_groups = [
            n for n, cards in enumerate(self.cards) if not any(c.keep.isChecked() for c in cards)
        ]
        if unkept_groups:
            self.status.setText(
                f"Keep at least one photo in every group (group {unkept_groups[0] + 1} has none "
                "checked). Nothing was moved."
            )
            return False
        chosen = self.selected_for_trash()
        if not chosen or not self._confirm(len(chosen), sum(p.size for p in chosen)):
            return False
        self.trash_button.setEnabled(False)
        self.status.setText(f"Moving {len(chosen)} to the trash…")
        library = self.library
        self._runner.run(lambda: trash_files(library, chosen), self._moved, self._move_failed)
        return True

    def _move_failed(self, exc: BaseException) -> None:
        if self._errors is not None:
            self._errors.report(exc, "Could not move to the trash")
        self.status.setText(f"Could not move to the trash: {plain(exc)}")
        self._update_button()

    def _moved(self, value: tuple[list[DuplicatePhoto], list[str]]) -> None:
        trashed, problems = value
        self._remove_from_view({p.photo_id for p in trashed})
        message = f"Moved {len(trashed)} file{'s' if len(trashed) != 1 else ''} to the trash."
        if problems:
            message += f" {len(problems)} not moved: " + "; ".join(problems[:3])
        self.status.setText(message)
        self._update_button()
        paths = [p.path for p in trashed]
        if paths:
            self.trashed.emit(paths)

    def _remove_from_view(self, photo_ids: set[int]) -> None:
        if not photo_ids or self.groups is None:
            return
        kept: list[DuplicateGroup] = []
        for group in self.groups:
            photos = [p for p in group.photos if p.photo_id not in photo_ids]
            if len(photos) > 1:
                kept.append(DuplicateGroup(photos))
        self.groups = kept
        self._build()
