"""Taught words and feedback in the window: the word dialog, *Your words* in the sidebar, the
results header of a taught word, ✓/✗ marks → Refine → Save as Word…, and More Like These.

Real model, the indexed sample library (copied per test), real widgets (pytest-qt, offscreen).
Expected results come from the core's own answer on the same library, so the tests check what
the window makes of it; the ranking checks (the taught word finds the rest of its category) are
the real model's.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from photosearch.core.search.feedback import Feedback
from photosearch.core.teach.words import Words
from photosearch.gui import search_service, teach_service
from photosearch.gui.main_window import MainWindow
from photosearch.gui.qt import QApplication, QColor, QMenu, QMessageBox, Qt
from photosearch.gui.thumbnail_delegate import MARK_COLORS, MARK_SIDE
from photosearch.gui.word_dialog import WordDialog, rename_dialog, teach_dialog

TIMEOUT = 30_000


@pytest.fixture
def window(sample_window):  # type: ignore[no-untyped-def]
    """The window on the indexed sample library (``sample_window`` in conftest.py)."""
    return sample_window


def rows_of(window: MainWindow, folder: str, n: int | None = None) -> list[int]:
    rows = [
        i
        for i, r in enumerate(window.results.model.results())
        if Path(r.path).parent.name == folder
    ]
    return rows[:n]


def select(window: MainWindow, rows: list[int]) -> None:
    grid, model = window.results.grid, window.results.model
    grid.clearSelection()
    flags = grid.selectionModel().SelectionFlag.Select
    for row in rows:
        grid.selectionModel().select(model.index(row), flags)
    grid.selectionModel().setCurrentIndex(model.index(rows[-1]), flags.NoUpdate)
    grid.setFocus()


def folders(window: MainWindow, n: int) -> list[str]:
    return [Path(r.path).parent.name for r in window.results.model.results()[:n]]


def ids(window: MainWindow) -> list[int]:
    return [r.photo_id for r in window.results.model.results()]


def idle(window: MainWindow) -> bool:
    return not window.controller._running and not window.ctx.io_runner.busy


def core_words(window: MainWindow) -> Words:
    return Words(window.ctx.library)


def open_dialog(window: MainWindow, qtbot) -> WordDialog:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: window.words.dialog is not None, timeout=TIMEOUT)
    dialog = window.words.dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def teach_from_grid(window: MainWindow, qtbot, rows: list[int], word: str) -> None:  # type: ignore[no-untyped-def]
    """Select rows, Ctrl+T, type the word, Enter; wait until the sidebar lists it."""
    select(window, rows)
    window.activateWindow()  # a dialog closed before may have left no window active
    qtbot.waitUntil(window.isActiveWindow, timeout=TIMEOUT)
    qtbot.keyClick(window.results.grid, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    dialog = open_dialog(window, qtbot)
    qtbot.keyClicks(dialog.field, word)
    qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: word in window.sidebar.words.words(), timeout=TIMEOUT)


# --- the dialog ---------------------------------------------------------------------------------
def test_the_word_dialog_checks_the_word_as_it_is_typed_and_completes_known_words(qtbot):
    dialog = teach_dialog({"rex": 5, "lake house": 2}, 3)
    qtbot.addWidget(dialog)
    dialog.show()
    assert "do these 3 photos show?" in dialog.intro.text()
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


# --- teaching, the sidebar and the header --------------------------------------------------------
def test_teach_a_word_from_selected_photos_and_find_the_rest_of_them(window, qtbot):
    assert not window.sidebar.words.list.isVisible()
    assert window.sidebar.words.hint.isVisible()  # how to teach one
    examples = rows_of(window, "starfish", 5)
    example_ids = [window.results.model.result(r).photo_id for r in examples]
    teach_from_grid(window, qtbot, examples, "blorp")

    assert window.status.message.text() == "Taught “blorp” from 5 photos"
    # The view re-runs for the new word; the message stays (a live refresh says nothing).
    qtbot.waitUntil(lambda: not window.controller._refresh_timer.isActive(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: idle(window), timeout=TIMEOUT)
    assert window.status.message.text() == "Taught “blorp” from 5 photos"
    assert window.sidebar.words.row_text("blorp") == "blorp 5 photos"
    taught = core_words(window).get("blorp")
    assert taught is not None and taught.positives == 5
    assert sorted(core_words(window).examples("blorp")[0]) == sorted(example_ids)

    # Enter on the word shows its photos: the word run as a query; so does a click.
    section = window.sidebar.words
    section.list.setFocus()
    section.list.setCurrentRow(0)
    qtbot.keyClick(section.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.results.title.text() == "“blorp”", timeout=TIMEOUT)
    window.search_bar.clear()
    qtbot.waitUntil(lambda: window.results.title.text() == "All Photos", timeout=TIMEOUT)
    assert section.current_word() == ""  # the highlight follows the query
    item = section.list.item(0)
    rect = section.list.visualItemRect(item)
    qtbot.mouseClick(section.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.results.title.text() == "“blorp”", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: idle(window), timeout=TIMEOUT)
    assert window.search_bar.text == "blorp"
    expected = search_service.run_query(window.ctx.searcher, "blorp")
    shown = ids(window)
    assert shown == [r.photo_id for r in expected.results][: len(shown)]
    assert not set(example_ids) & set(shown)  # its examples are not results
    assert folders(window, 5).count("starfish") >= 4, folders(window, 5)

    # The header says the word is taught, and Improve adds the selected photos.
    assert window.results.taught.isVisible()
    assert window.results.taught.text() == "“blorp”: taught from 5 photos · Improve…"
    more = rows_of(window, "starfish", 2)
    select(window, more)
    qtbot.mouseClick(window.results.taught.improve, Qt.MouseButton.LeftButton)
    dialog = open_dialog(window, qtbot)
    assert dialog.field.text() == "blorp"
    assert dialog.message.text() == "Adds 2 photos to “blorp” (it has 5 examples)."
    qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "7 photos" in section.row_text("blorp"), timeout=TIMEOUT)
    assert window.status.message.text() == "“blorp” now has 7 examples (2 added)"
    qtbot.waitUntil(lambda: "from 7 photos" in window.results.taught.text(), timeout=TIMEOUT)

    # Improve with nothing selected says what to do.
    window.results.grid.clearSelection()
    qtbot.mouseClick(window.results.taught.improve, Qt.MouseButton.LeftButton)
    assert window.words.dialog is None
    assert "Select photos of “blorp”" in window.status.message.text()


def test_a_bad_word_from_the_teach_action_changes_nothing(window, qtbot):
    menu = next(m for m in window.menuBar().findChildren(QMenu) if m.title() == "&Photos")
    teach = window.results.photo_actions.teach
    assert teach in menu.actions() and teach.shortcut().toString() == "Ctrl+T"
    select(window, rows_of(window, "pizza", 2))
    window.results.photo_actions.teach.trigger()
    dialog = open_dialog(window, qtbot)
    qtbot.keyClicks(dialog.field, "the")
    qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    assert dialog.isVisible() and "stop-words" in dialog.message.text()
    qtbot.keyClick(dialog.field, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.words.dialog is None, timeout=TIMEOUT)
    assert core_words(window).list_words() == []
    # With no photo selected the action is off (and the menu entry with it).
    window.results.grid.clearSelection()
    assert not window.results.photo_actions.teach.isEnabled()


def test_rename_and_delete_a_word_from_the_sidebar(window, qtbot):
    teach_from_grid(window, qtbot, rows_of(window, "pagoda", 3), "temple towers")
    section = window.sidebar.words
    section.word_picked.emit("temple towers")  # its photos are shown while it is renamed
    qtbot.waitUntil(lambda: window.results.title.text() == "“temple towers”", timeout=TIMEOUT)

    menu = section.build_menu("temple towers")
    next(a for a in menu.actions() if a.text() == "Rename…").trigger()
    menu.deleteLater()
    dialog = open_dialog(window, qtbot)
    assert dialog.field.text() == "temple towers"
    dialog.field.setText("Pagodas")
    qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: section.words() == ["pagodas"], timeout=TIMEOUT)
    assert window.status.message.text() == "Renamed “temple towers” to “pagodas”"
    assert [w.word for w in core_words(window).list_words()] == ["pagodas"]
    # The shown photos follow the new name.
    qtbot.waitUntil(lambda: window.results.title.text() == "“pagodas”", timeout=TIMEOUT)
    assert window.search_bar.text == "pagodas"

    # A name already taken is refused by the core too (the dialog refuses it first), and the
    # status bar says why.
    window.search_bar.clear()
    qtbot.waitUntil(lambda: window.results.title.text() == "All Photos", timeout=TIMEOUT)
    teach_from_grid(window, qtbot, rows_of(window, "pizza", 2), "pie")
    qtbot.waitUntil(lambda: idle(window), timeout=TIMEOUT)
    window.words.rename("pie", "pagodas")
    qtbot.waitUntil(lambda: "Cannot rename" in window.status.message.text(), timeout=TIMEOUT)
    assert window.status.message.text() == "Cannot rename “pie”: there is already a word 'pagodas'"
    assert section.words() == ["pagodas", "pie"]
    window.words.delete("pie")
    qtbot.waitUntil(lambda: section.words() == ["pagodas"], timeout=TIMEOUT)
    window.search_bar.set_text("pagodas")

    # Delete (the key on the list) asks first; Cancel keeps the word.
    section.list.setFocus()
    section.list.setCurrentRow(0)
    qtbot.keyClick(section.list, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: message_box() is not None, timeout=TIMEOUT)
    box = message_box()
    assert box is not None
    assert "Delete the word “pagodas”?" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: message_box() is None, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: idle(window), timeout=TIMEOUT)
    assert section.words() == ["pagodas"]

    menu = section.build_menu("pagodas")
    next(a for a in menu.actions() if a.text() == "Delete…").trigger()
    menu.deleteLater()
    qtbot.waitUntil(lambda: message_box() is not None, timeout=TIMEOUT)
    box = message_box()
    assert box is not None
    delete = next(b for b in box.buttons() if b.text() == "Delete")
    delete.click()
    qtbot.waitUntil(lambda: section.words() == [], timeout=TIMEOUT)
    assert section.hint.isVisible()
    # The deleted word's photos go: back to the library.
    qtbot.waitUntil(lambda: window.results.title.text() == "All Photos", timeout=TIMEOUT)
    assert core_words(window).list_words() == []
    assert window.ctx.library.status_counts().get("indexed") == 360  # the photos stay


def message_box() -> QMessageBox | None:
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
    return next((b for b in boxes if b.isVisible()), None)


# --- feedback ---------------------------------------------------------------------------------
def mark_pixel(window: MainWindow, row: int) -> QColor:
    """The colour at the centre of the row's mark disc (top right of the cell)."""
    grid = window.results.grid
    grid.scrollTo(window.results.model.index(row))
    rect = grid.visualRect(window.results.model.index(row))
    image = grid.viewport().grab().toImage()
    scale = image.devicePixelRatio()
    x = rect.right() - 3 - 6 - MARK_SIDE / 2 + 3  # GAP/2 inset, 6 px margin, then the centre
    y = rect.top() + 3 + 6 + 4  # inside the disc, above the glyph
    return image.pixelColor(int(x * scale), int(y * scale))


def test_marks_refine_a_query_and_the_refined_result_saves_as_a_word(window, qtbot):
    window.search_bar.set_text("dog")
    qtbot.waitUntil(lambda: window.results.title.text() == "“dog”", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: idle(window), timeout=TIMEOUT)
    window.controller.show_weaker()
    actions = window.results.photo_actions
    assert not actions.refine.isEnabled()  # nothing marked yet
    right_rows = rows_of(window, "dog", 3)
    names = folders(window, 400)
    wrong_row = next(i for i, folder in enumerate(names) if folder != "dog")
    model = window.results.model
    right = [model.result(r).photo_id for r in right_rows]
    wrong = model.result(wrong_row).photo_id

    # ✓ with "+", ✗ with "-" on the grid's selection; the marks are painted on the cells.
    select(window, right_rows)
    qtbot.keyClick(window.results.grid, Qt.Key.Key_Plus)
    select(window, [wrong_row])
    qtbot.keyClick(window.results.grid, Qt.Key.Key_Minus)
    assert window.controller.marks == {**dict.fromkeys(right, True), wrong: False}
    assert [model.mark_at(r) for r in right_rows] == [True] * 3
    assert model.mark_at(wrong_row) is False
    assert mark_pixel(window, right_rows[0]) == QColor(MARK_COLORS[True])
    assert mark_pixel(window, wrong_row) == QColor(MARK_COLORS[False])
    unmarked = next(r for r in range(model.rowCount()) if model.mark_at(r) is None)
    assert mark_pixel(window, unmarked) not in (QColor(c) for c in MARK_COLORS.values())
    bar = window.results.feedback_bar
    assert bar.isVisible() and bar.label.text() == "✓ 3 · ✗ 1 marked"
    assert not actions.save_word.isEnabled()  # only a refined result saves

    # "+" again on a ✓ photo takes the mark off; the context menu marks too.
    select(window, [right_rows[0]])
    qtbot.keyClick(window.results.grid, Qt.Key.Key_Plus)
    assert right[0] not in window.controller.marks
    menu = window.results.build_menu(right_rows[0])
    next(a for a in menu.actions() if a.text() == "Mark ✓ &Right").trigger()
    menu.deleteLater()
    assert window.controller.marks[right[0]] is True

    # Refine (Ctrl+R): the core's refined ranking, without the ✗ photo; the marks stay.
    qtbot.keyClick(window.results.grid, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.results.title.text() == "“dog” · refined", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: idle(window), timeout=TIMEOUT)
    marks = {**dict.fromkeys(right, True), wrong: False}
    texts = search_service.text_searcher(window.ctx.searcher)
    expected = Feedback(texts).refine("dog", marks, k=search_service.DEFAULT_K)
    assert ids(window) == [r.photo_id for r in expected.results]
    assert wrong not in ids(window)
    assert set(right) <= set(ids(window)[:20])
    assert folders(window, 10).count("dog") >= 8, folders(window, 10)
    assert model.mark_at(model.row_of(right[1])) is True
    assert actions.save_word.isEnabled()

    # Save as Word… stores the ✓ photos as examples and the ✗ one as "not this".
    bar_buttons = {b.defaultAction(): b for b in bar.buttons}
    qtbot.mouseClick(bar_buttons[actions.save_word], Qt.MouseButton.LeftButton)
    dialog = open_dialog(window, qtbot)
    assert dialog.field.text() == "dog"  # offered: the query
    assert "3 photos marked ✓" in dialog.intro.text() and "1 photo marked ✗" in dialog.intro.text()
    dialog.field.setText("my dogs")
    qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "my dogs" in window.sidebar.words.words(), timeout=TIMEOUT)
    assert window.sidebar.words.row_text("my dogs") == "my dogs 3 photos · 1 not"
    assert window.status.message.text() == "Saved “my dogs”, taught from 3 photos"
    pos, neg = core_words(window).examples("my dogs")
    assert sorted(pos) == sorted(right) and neg == [wrong]

    # A new query starts without marks.
    window.search_bar.set_text("guitar")
    qtbot.waitUntil(lambda: window.results.title.text() == "“guitar”", timeout=TIMEOUT)
    assert window.controller.marks == {} and not bar.isVisible()


def test_more_like_these_from_a_multi_selection(window, qtbot):
    rows = rows_of(window, "sunflower", 3)
    chosen = [window.results.model.result(r).photo_id for r in rows]
    select(window, rows)
    # The context menu of a selected photo keeps the whole selection.
    menu = window.results.build_menu(rows[0])
    assert window.results.selected_ids() == chosen
    next(a for a in menu.actions() if a.text() == "&More Like These").trigger()
    menu.deleteLater()
    qtbot.waitUntil(
        lambda: window.results.title.text() == "More like these 3 photos", timeout=TIMEOUT
    )
    qtbot.waitUntil(lambda: idle(window), timeout=TIMEOUT)
    texts = search_service.text_searcher(window.ctx.searcher)
    expected = Feedback(texts).more_like_these(chosen, k=search_service.DEFAULT_K)
    assert ids(window) == [r.photo_id for r in expected.results]
    assert not set(chosen) & set(ids(window))
    assert folders(window, 5).count("sunflower") >= 4, folders(window, 5)
    # Esc goes back to the library.
    qtbot.keyClick(window.results.grid, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.results.title.text() == "All Photos", timeout=TIMEOUT)


# --- threads ----------------------------------------------------------------------------------
def test_teaching_and_feedback_never_run_on_the_gui_thread(window, qtbot, monkeypatch):
    calls: list[tuple[str, bool]] = []

    def spy(owner: type, name: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append((name, threading.current_thread() is threading.main_thread()))
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    for name in ("teach", "rename", "remove", "list_words", "in_query"):
        spy(Words, name)
    for name in ("refine", "more_like_these", "save_as_word"):
        spy(Feedback, name)

    teach_from_grid(window, qtbot, rows_of(window, "llama", 2), "alpaca friend")
    window.sidebar.words.word_picked.emit("alpaca friend")
    qtbot.waitUntil(lambda: window.results.taught.isVisible(), timeout=TIMEOUT)
    window.controller.mark([window.results.model.result(0).photo_id], True)
    window.controller.refine()
    qtbot.waitUntil(lambda: "refined" in window.results.title.text(), timeout=TIMEOUT)
    window.words.save("llama like", dict(window.controller.marks))
    qtbot.waitUntil(lambda: "llama like" in window.sidebar.words.words(), timeout=TIMEOUT)
    window.controller.more_like_these([window.results.model.result(0).photo_id])
    qtbot.waitUntil(lambda: window.results.title.text().startswith("More like"), timeout=TIMEOUT)
    window.words.rename("llama like", "llamas")
    qtbot.waitUntil(lambda: "llamas" in window.sidebar.words.words(), timeout=TIMEOUT)
    window.words.delete("llamas")
    qtbot.waitUntil(lambda: "llamas" not in window.sidebar.words.words(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: idle(window), timeout=TIMEOUT)

    names = {name for name, _ in calls}
    assert names >= {"teach", "rename", "remove", "list_words", "in_query", "refine"}
    assert names >= {"more_like_these", "save_as_word"}
    assert not [name for name, on_gui in calls if on_gui]


def test_the_service_counts_examples_added(window):
    """teach_service.teach says how many examples a word gained (a photo it had counts once)."""
    model = window.results.model
    first = [model.result(r).photo_id for r in rows_of(window, "crab", 3)]
    taught, added = teach_service.teach(window.ctx.searcher, "crabby", first)
    assert (taught.positives, added) == (3, 3)
    more = first[1:] + [model.result(rows_of(window, "crab")[3]).photo_id]
    taught, added = teach_service.teach(window.ctx.searcher, "crabby", more)
    assert (taught.positives, added) == (4, 1)
