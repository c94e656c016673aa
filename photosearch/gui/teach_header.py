"""The results header's lines for taught words and feedback: "“rex”: taught from 5 photos ·
Improve…" for a query that uses a word you taught, and the feedback bar ("✓ 3 · ✗ 1 · Refine ·
Save as Word… · Clear Marks") while results are marked."""

from __future__ import annotations

from dataclasses import dataclass, field

from photosearch.core.teach.words import TaughtWord
from photosearch.gui.qt import QAction, QLabel, Qt, QToolButton, QWidget, Signal, named
from photosearch.gui.widgets import hbox, tool_button


@dataclass(frozen=True)
class FeedbackState:
    """The marks on the shown results, and what can be done with them."""

    marks: dict[int, bool] = field(default_factory=dict)  # photo id -> ✓ (True) / ✗ (False)
    can_refine: bool = False  # the view is a text query (or a refined one)
    refined: bool = False  # the view is a refined result

    @property
    def right(self) -> int:
        return sum(1 for ok in self.marks.values() if ok)

    @property
    def wrong(self) -> int:
        return len(self.marks) - self.right

    def describe(self) -> str:
        if not self.marks:
            return "Refined by your marks" if self.refined else ""
        text = f"✓ {self.right} · ✗ {self.wrong} marked"
        if not self.can_refine:
            text += " (Refine works on a text query)"
        return text


def taught_text(words: list[TaughtWord]) -> str:
    """The header's words for the taught words of a query."""
    if not words:
        return ""
    parts = []
    for w in words:
        text = f"“{w.word}”: taught from {w.positives:,} photo{'s' if w.positives != 1 else ''}"
        if w.negatives:
            text += f" and {w.negatives:,} “not this”"
        if not w.current:
            text += " (for another image model: refitted once its photos are indexed again)"
        parts.append(text)
    return " · ".join(parts) + " ·"


class TaughtLine(QWidget):
    """A line above the grid for a query that uses taught words, with **Improve…**: add the
    selected photos to the (first) word's examples."""

    improve_requested = Signal(str)  # the word

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.word = ""
        self.label = named(QLabel(self), "taughtNote")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.improve = tool_button(
            "linkAction", "Improve…", lambda: self.improve_requested.emit(self.word), parent=self
        )
        hbox(self, (16, 0, 12, 8), 4, self.label, self.improve).addStretch(1)
        self.hide()

    def text(self) -> str:
        return f"{self.label.text()} {self.improve.text()}".strip() if self.word else ""

    def show_words(self, words: list[TaughtWord]) -> None:
        self.word = words[0].word if words else ""
        self.label.setText(taught_text(words))
        self.improve.setToolTip(
            f"Select photos of “{self.word}” in the grid, then Improve adds them as examples"
        )
        self.setVisible(bool(words))


class FeedbackBar(QWidget):
    """The marks made on the results and what to do with them (the actions' own shortcuts)."""

    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = named(QLabel(self), "feedbackNote")
        row = hbox(self, (16, 0, 12, 8), 6, self.label)
        self.buttons = []
        for action in actions:
            button = named(QToolButton(self), "feedbackButton")
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            row.addWidget(button)
            self.buttons.append(button)
        row.addStretch(1)
        self.hide()

    def show_state(self, state: FeedbackState) -> None:
        self.label.setText(state.describe())
        self.setVisible(bool(state.marks) or state.refined)
