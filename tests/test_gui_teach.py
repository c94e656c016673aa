"""Taught words and feedback in the window: the word dialog.

Real model, the indexed sample library (copied per test), real widgets (pytest-qt, offscreen).
Expected results come from the core's own answer on the same library, so the tests check what
the window makes of it; the ranking checks (the taught word finds the rest of its category) are
the real model's.
"""

from __future__ import annotations

import pytest

from photosearch.gui.word_dialog import rename_dialog, teach_dialog

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("This plugin does not support"),
]

TIMEOUT = 30_000


# --- the dialog ---------------------------------------------------------------------------------
def test_the_word_dialog_checks_the_word_as_it_is_typed_and_completes_known_words(qtbot):
    dialog = teach_dialog({"rex": 5, "lake house": 2}, 3)
    qtbot.addWidget(dialog)
    dialog.show()
    assert "these 3 photos" in dialog.intro.text()
    assert not dialog.ok.isEnabled()  # nothing typed yet
    for text, problem in [
        ("the of", "stop-words"),
        ("rex + snow", "'+'"),
        ("-rex", "'-'"),
        ("2:rex", "':'"),
    ]:
        dialog.field.setText(text)
        assert problem in dialog.message.text(), text
        assert not dialog.ok.isEnabled(), text
        dialog.accept()
        assert dialog.isVisible()  # Enter on a bad word does nothing
    dialog.field.setText("  Bonsai   Tree ")
    assert dialog.ok.isEnabled()
    assert dialog.word() == "bonsai tree"
    assert dialog.message.text() == "A new word, taught from 3 photos."
    dialog.field.setText("REX")
    assert dialog.message.text() == "Adds 3 photos to “rex” (it has 5 examples)."

    # Completion of the words already taught, from any part of them.
    dialog.field.clear()
    qtbot.keyClicks(dialog.field, "hou")
    completer = dialog.completer
    assert completer.completionCount() == 1
    assert completer.currentCompletion() == "lake house"

    renaming = rename_dialog({"rex": 5, "lake house": 2}, "rex")
    qtbot.addWidget(renaming)
    renaming.field.setText("Lake  House")
    assert renaming.message.text() == "There is already a word “lake house”."
    assert not renaming.ok.isEnabled()
    renaming.field.setText("rex the dog")
    assert renaming.message.text() == "“rex” becomes “rex the dog”."
    assert renaming.ok.isEnabled()
