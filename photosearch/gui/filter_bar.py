"""The filter row above the grid: a date range, a camera and the sort order.

It only holds the user's choice: :meth:`FilterBar.filters` turns it into a core
:class:`~photosearch.core.search.searcher.Filters`, ``filters_changed`` and ``sort_changed`` say when it
changes. Dates are whole days at UTC midnight, as the core stores capture times (naive EXIF time
read as UTC) and as the CLI's ``--after``/``--before`` read them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from photosearch.core.search.searcher import Filters
from photosearch.gui.qt import QComboBox, QDate, QDateEdit, QLabel, QWidget, Signal, named
from photosearch.gui.settings import SORTS
from photosearch.gui.widgets import hbox, tool_button

ANY, LAST_30, THIS_YEAR, LAST_YEAR, CUSTOM = "any", "30d", "this-year", "last-year", "custom"
DATE_CHOICES = (
    (ANY, "Any time"),
    (LAST_30, "Last 30 days"),
    (THIS_YEAR, "This year"),
    (LAST_YEAR, "Last year"),
    (CUSTOM, "Custom range…"),
)
SORT_LABELS = {"best": "Best match", "newest": "Newest first", "oldest": "Oldest first"}
DATE_FORMAT = "d MMM yyyy"


def _stamp(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()


def _today() -> dt.date:
    return dt.datetime.now().date()


class FilterBar(QWidget):
    """Date, camera and sort combos; the date edits show for a custom range only."""

    filters_changed = Signal()  # the date range or the camera changed
    sort_changed = Signal(str)  # "best" | "newest" | "oldest"

    def __init__(
        self,
        sort: str = "best",
        parent: QWidget | None = None,
        today: Callable[[], dt.date] = _today,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("filterBar")
        self._today = today
        self.date_combo = named(QComboBox(self), "dateFilter")
        for key, label in DATE_CHOICES:
            self.date_combo.addItem(label, key)
        self.date_combo.setToolTip("Capture date (the file's date when the photo has none)")
        start = QDate.currentDate()
        self.from_edit = self._date_edit(start.addMonths(-1), "From (inclusive)")
        self.to_edit = self._date_edit(start, "To (inclusive)")
        self.dash = QLabel("–", self)
        self.camera_combo = named(QComboBox(self), "cameraFilter")
        self.camera_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.camera_combo.setMaximumWidth(240)
        self.set_cameras([])
        self.sort_combo = named(QComboBox(self), "sortOrder")
        for key in SORTS:
            self.sort_combo.addItem(SORT_LABELS[key], key)
        self.sort_combo.setToolTip("Order of the grid (with no search, best match is newest first)")
        self.sort_combo.setCurrentIndex(max(0, self.sort_combo.findData(sort)))
        self.clear_button = tool_button("clearFilters", "Clear filters", self.clear, parent=self)

        layout = hbox(
            self,
            (0, 0, 0, 0),
            6,
            self.clear_button,
            self.date_combo,
            self.from_edit,
            self.dash,
            self.to_edit,
            self.camera_combo,
        )
        layout.addSpacing(6)
        layout.addWidget(self.sort_combo)
        self._show_range(False)
        self.clear_button.hide()

        self.date_combo.currentIndexChanged.connect(self._date_choice_changed)
        self.from_edit.dateChanged.connect(self._range_edited)
        self.to_edit.dateChanged.connect(self._range_edited)
        self.camera_combo.currentIndexChanged.connect(lambda _i: self._changed())
        self.sort_combo.currentIndexChanged.connect(lambda _i: self.sort_changed.emit(self.sort))

    def _date_edit(self, date: QDate, tip: str) -> QDateEdit:
        edit = QDateEdit(date, self)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat(DATE_FORMAT)
        edit.setToolTip(tip)
        return edit

    # --- state ----------------------------------------------------------------------------
    @property
    def sort(self) -> str:
        return str(self.sort_combo.currentData())

    def set_sort(self, sort: str) -> None:
        self.sort_combo.setCurrentIndex(max(0, self.sort_combo.findData(sort)))

    @property
    def date_choice(self) -> str:
        return str(self.date_combo.currentData())

    def set_date_choice(self, key: str) -> None:
        self.date_combo.setCurrentIndex(max(0, self.date_combo.findData(key)))

    def set_range(self, first: dt.date, last: dt.date) -> None:
        """A custom range, both days included (one change, one ``filters_changed``)."""
        for edit in (self.from_edit, self.to_edit):
            edit.blockSignals(True)
        self.from_edit.setDate(QDate(first.year, first.month, first.day))
        self.to_edit.setDate(QDate(last.year, last.month, last.day))
        for edit in (self.from_edit, self.to_edit):
            edit.blockSignals(False)
        if self.date_choice == CUSTOM:
            self._changed()
        else:
            self.set_date_choice(CUSTOM)

    @property
    def camera(self) -> str:
        return str(self.camera_combo.currentData() or "")

    def set_camera(self, name: str) -> None:
        self.camera_combo.setCurrentIndex(max(0, self.camera_combo.findData(name)))

    def set_cameras(self, cameras: Sequence[tuple[str, int]]) -> None:
        """The library's cameras with their photo counts; the chosen one stays chosen (listed
        with 0 when its photos are gone, so that the filter never changes by itself)."""
        chosen = self.camera if self.camera_combo.count() else ""
        listed = list(cameras)
        if chosen and chosen not in {name for name, _ in listed}:
            listed.append((chosen, 0))
        combo = self.camera_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("All cameras", "")
        for name, count in listed:
            combo.addItem(f"{name} ({count:,})", name)
        combo.setCurrentIndex(max(0, combo.findData(chosen)))
        combo.blockSignals(False)
        combo.setEnabled(len(listed) > 0)
        combo.setToolTip(
            "Camera (from the photos' EXIF data)" if listed else "No photo names its camera"
        )

    def filters(self) -> Filters | None:
        """The chosen date range and camera, or None when nothing is filtered."""
        after, before = self._bounds()
        found = Filters(after, before, self.camera or None)
        return found if found.active() else None

    def active(self) -> bool:
        return self.filters() is not None

    def describe(self) -> str:
        """The active filters in words ("taken this year with Pixel 7"), "" for none."""
        parts = []
        choice = self.date_choice
        if choice == CUSTOM:
            first, last = self.from_edit.date(), self.to_edit.date()
            parts.append(
                f"taken {first.toString(DATE_FORMAT)} – {last.toString(DATE_FORMAT)}"
                if first != last
                else f"taken on {first.toString(DATE_FORMAT)}"
            )
        elif choice != ANY:
            parts.append(f"taken {self.date_combo.currentText().lower()}")
        if self.camera:
            parts.append(f"with {self.camera}" if parts else f"taken with {self.camera}")
        return " ".join(parts)

    def clear(self) -> None:
        """Back to any date and all cameras (the sort order stays): one ``filters_changed``."""
        if not self.active():
            return
        for combo in (self.date_combo, self.camera_combo):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        self._show_range(False)
        self._changed()

    # --- internals ------------------------------------------------------------------------
    def _bounds(self) -> tuple[float | None, float | None]:
        choice, today = self.date_choice, self._today()
        if choice == LAST_30:
            return _stamp(today - dt.timedelta(days=29)), _stamp(today + dt.timedelta(days=1))
        if choice == THIS_YEAR:
            return _stamp(dt.date(today.year, 1, 1)), _stamp(dt.date(today.year + 1, 1, 1))
        if choice == LAST_YEAR:
            return _stamp(dt.date(today.year - 1, 1, 1)), _stamp(dt.date(today.year, 1, 1))
        if choice == CUSTOM:
            first, last = self.from_edit.date(), self.to_edit.date()
            if last < first:
                first, last = last, first
            a = dt.date(first.year(), first.month(), first.day())
            b = dt.date(last.year(), last.month(), last.day()) + dt.timedelta(days=1)
            return _stamp(a), _stamp(b)
        return None, None

    def _show_range(self, visible: bool) -> None:
        for widget in (self.from_edit, self.dash, self.to_edit):
            widget.setVisible(visible)

    def _date_choice_changed(self, _index: int) -> None:
        self._show_range(self.date_choice == CUSTOM)
        self._changed()

    def _range_edited(self, _date: QDate) -> None:
        if self.date_choice == CUSTOM:
            self._changed()

    def _changed(self) -> None:
        self.clear_button.setVisible(self.active())
        self.filters_changed.emit()
