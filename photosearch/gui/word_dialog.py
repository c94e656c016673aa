"""The small dialog that asks for a word: to teach it from photos, to rename a word, or to save a
refined result as one. The word is checked as it is typed, with the core's own rule
(:func:`~photosearch.core.teach.words.normalise_word`), and the field completes the words
already taught. The dialog only asks; the work runs elsewhere, on a worker."""

from __future__ import annotations

from photosearch.core.teach.words import TeachError, normalise_word
from photosearch.gui.qt import (
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QStringListModel,
    Qt,
    QVBoxLayout,
    QWidget,
    named,
)
from photosearch.gui.teach_service import describe_count

ERROR_COLOR = "#b42318"


class WordDialog(QDialog):
    """``known``: the taught words and their example counts. ``adding``: photos the word gets
    (0 when renaming). ``renaming``: the word being renamed ("" otherwise)."""

    def __init__(
        self,
        title: str,
        intro: str,
        button: str,
        known: dict[str, int],
        parent: QWidget | None = None,
        word: str = "",
        adding: int = 0,
        renaming: str = "",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        self.known, self.adding, self.renaming = known, adding, renaming
        self.intro = QLabel(intro, self)
        self.intro.setWordWrap(True)
        self.field = named(QLineEdit(self), "wordField")
        self.field.setPlaceholderText("a word, e.g. rex, lake house, stapler")
        self.field.setAccessibleName("Word")
        self.completer = QCompleter(QStringListModel(sorted(known), self), self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.field.setCompleter(self.completer)
        self.message = named(QLabel(self), "wordMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.ok: QPushButton = self.buttons.addButton(
            button, QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.ok.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.field)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.field.textChanged.connect(self.check)
        self.field.setText(word)
        self.field.selectAll()
        self.check()

    def word(self) -> str:
        """The word as it will be stored ("" while the text is not a word)."""
        try:
            return normalise_word(self.field.text())
        except TeachError:
            return ""

    def check(self) -> bool:
        """Validate the text, say what OK would do, enable OK only for a word."""
        problem, info = self._judge(self.field.text())
        self.message.setText(problem or info)
        color = ERROR_COLOR if problem else "#656d76"
        self.message.setStyleSheet(f"color: {color};")
        self.ok.setEnabled(not problem and bool(self.field.text().strip()))
        return self.ok.isEnabled()

    def _judge(self, text: str) -> tuple[str, str]:
        """(problem, what OK would do): one of them is ""."""
        if not text.strip():
            return "", "Type a word: the name of your dog, a place, a thing."
        try:
            key = normalise_word(text)
        except TeachError as exc:
            message = str(exc)
            return message[:1].upper() + message[1:], ""
        if self.renaming:
            if key != self.renaming and key in self.known:
                return f"There is already a word “{key}”.", ""
            return "", f"“{self.renaming}” becomes “{key}”."
        if key in self.known:
            total = describe_count(self.known[key], "example")
            return "", f"Adds {describe_count(self.adding)} to “{key}” (it has {total})."
        return "", f"A new word, taught from {describe_count(self.adding)}."

    def accept(self) -> None:
        if self.check():
            super().accept()


def teach_dialog(
    known: dict[str, int], photos: int, parent: QWidget | None = None, word: str = ""
) -> WordDialog:
    return WordDialog(
        "Teach a Word",
        f"Which word {'does this photo' if photos == 1 else f'do these {photos:,} photos'} show? "
        "From then on the word finds "
        "photos like them, in every search.",
        "Teach",
        known,
        parent,
        word,
        adding=photos,
    )


def rename_dialog(known: dict[str, int], word: str, parent: QWidget | None = None) -> WordDialog:
    return WordDialog(
        "Rename Word", f"A new name for “{word}”:", "Rename", known, parent, word, renaming=word
    )


def save_dialog(
    known: dict[str, int], right: int, wrong: int, parent: QWidget | None = None, word: str = ""
) -> WordDialog:
    wrong_text = f" and {describe_count(wrong)} marked ✗ as “not this”" if wrong else ""
    return WordDialog(
        "Save as Word",
        f"Keep this result as a word: the {describe_count(right)} marked ✓ are its examples"
        f"{wrong_text}.",
        "Save",
        known,
        parent,
        word,
        adding=right,
    )
