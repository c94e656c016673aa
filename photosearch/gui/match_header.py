"""How sure a text query is: the header's match count, the note line and the "Show N weaker
matches" button.

A text query's results come good matches first (``Result.match``); the weak ones stay behind
the button until the user asks for them, and the grid then marks where they start (see
``ThumbnailDelegate``). Image-only queries and the library carry no match and show none of this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from photosearch.core.search.searcher import Result
from photosearch.gui.qt import QHBoxLayout, QLabel, QPushButton, QStyle, Qt, QWidget, Signal, named


@dataclass(frozen=True)
class Matches:
    """What the grid shows of a query's confidence."""

    good: int | None = None  # good matches within the filters; None: not a text query
    good_fetched: int = 0  # of them among the results
    weak: int = 0  # weak matches among the results
    collapsed: bool = False  # the weak ones are held back behind the button

    @property
    def hidden(self) -> int:
        """Weak matches held back (0 when none or when they are shown)."""
        return self.weak if self.collapsed else 0

    def describe(self) -> str:
        """The header's words, e.g. "14 good matches", "No good matches · showing weaker ones"."""
        if self.good is None:
            return ""
        if self.good == 0:
            return "No good matches · showing weaker ones"
        text = f"{self.good:,} good match{'es' if self.good != 1 else ''}"
        if self.good_fetched < self.good:
            text += f" · best {self.good_fetched:,} shown"
        if self.weak and not self.collapsed:
            text += f" + {self.weak:,} weaker"
        return text


def split_matches(
    results: Sequence[Result], good: int | None, show_weak: bool
) -> tuple[list[Result], Matches]:
    """The results to show and their :class:`Matches`: without ``show_weak``, a text query with
    good matches shows only those (its weak ones wait behind the button)."""
    if good is None:
        return list(results), Matches()
    strong = [r for r in results if r.match != "weak"]
    weak = len(results) - len(strong)
    collapsed = bool(strong) and not show_weak and weak > 0
    matches = Matches(good, len(strong), weak, collapsed)
    return (strong if collapsed else list(results)), matches


def note_text(notes: Sequence[str]) -> str:
    """Notes of a query (lower-case clauses, as the CLI prints them) as one line of sentences."""
    return "  ·  ".join(note[:1].upper() + note[1:] for note in notes if note)


class NoteLine(QWidget):
    """One line above the grid with what the search says about the query ("no photo class is
    close to 'stapler'; showing related: machine"); hidden when it says nothing."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)
        self.icon = QLabel(self)
        self.icon.setPixmap(icon.pixmap(14, 14))
        self.label = named(QLabel(self), "queryNote")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(16, 0, 12, 8)
        row.setSpacing(6)
        row.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.label, 1)
        self.hide()

    def text(self) -> str:
        return self.label.text()

    def show_notes(self, notes: Sequence[str]) -> None:
        text = note_text(notes)
        self.label.setText(text)
        self.setVisible(bool(text))


class WeakerButton(QWidget):
    """The "Show 186 weaker matches" button under the good matches (Alt+W, or Enter on it)."""

    requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.button = named(QPushButton(), "weakerButton")
        self.button.setAutoDefault(True)  # Enter presses it when it has the focus
        self.button.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # a click leaves the focus be
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.button.setToolTip("Add the photos that match the words less surely (Alt+W)")
        self.button.clicked.connect(self.requested)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 10, 0, 14)
        row.addStretch(1)
        row.addWidget(self.button)
        row.addStretch(1)
        self.hide()

    def set_hidden_count(self, n: int) -> None:
        """Offer ``n`` held-back weak matches; 0 hides the button."""
        self.button.setText(f"Show {n:,} &weaker match{'es' if n != 1 else ''}")
        self.setVisible(n > 0)
