"""What the user can do with the photos selected in the grid, and with a result's feedback marks:
one set of actions for the Photos menu, the grid's context menu and the feedback bar, so each
has one shortcut and one enabled state.

The mark shortcuts (+, -, 0) are plain keys: they work only while the grid has the focus, so
they never take a character from the search field or a list's type-ahead.
"""

from __future__ import annotations

from photosearch.gui.qt import QAction, QKeySequence, QObject, Qt, QWidget
from photosearch.gui.teach_header import FeedbackState


class PhotoActions(QObject):
    def __init__(self, grid: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.teach = self._action("&Teach a Word…", ["Ctrl+T"], "Teach a word from these photos")
        self.more_like = self._action(
            "&More Like These", ["Ctrl+L"], "Photos like the selected ones"
        )
        self.mark_right = self._action(
            "Mark ✓ &Right", ["+", "="], "Mark the selected results as right (again: unmark)"
        )
        self.mark_wrong = self._action(
            "Mark ✗ &Wrong", ["-"], "Mark the selected results as wrong (again: unmark)"
        )
        self.unmark = self._action("&Unmark", ["0"], "Take the marks off the selected results")
        self.refine = self._action(
            "&Refine", ["Ctrl+R"], "Search again, with the ✓ photos in and the ✗ ones out"
        )
        self.save_word = self._action(
            "&Save as Word…", ["Ctrl+Shift+S"], "Keep this refined result as a word of your own"
        )
        self.clear_marks = self._action("&Clear Marks", [], "Take every mark off")
        for action in (self.mark_right, self.mark_wrong, self.unmark):
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            grid.addAction(action)
        self.update_state(0, FeedbackState())

    def _action(self, text: str, keys: list[str], tip: str) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        shortcut = f" ({keys[0]})" if keys else ""
        action.setToolTip(f"{tip}{shortcut}")
        action.setStatusTip(tip)
        return action

    def selection_actions(self) -> list[QAction]:
        return [self.teach, self.more_like]

    def mark_actions(self) -> list[QAction]:
        return [self.mark_right, self.mark_wrong, self.unmark]

    def update_state(self, selected: int, feedback: FeedbackState) -> None:
        """Enable what makes sense: photos selected, marks made, a text query to refine, a
        refined result with ✓ photos to save."""
        for action in self.selection_actions() + self.mark_actions():
            action.setEnabled(selected > 0)
        self.refine.setEnabled(feedback.can_refine and bool(feedback.marks))
        self.save_word.setEnabled(feedback.refined and feedback.right > 0)
        self.clear_marks.setEnabled(bool(feedback.marks))
