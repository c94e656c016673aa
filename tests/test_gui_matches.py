"""How sure a text query is, in the window: good matches first, the weaker ones behind a button
and then after a boundary in the grid, and the note line for words no photo class is close to.

Real model, the indexed sample library, real widgets (pytest-qt, offscreen). The expected
counts and notes come from the core's own answer to the same query, so the tests follow the
search's figures and check only what the window makes of them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import SAMPLE

from photosearch.core.search.searcher import Result
from photosearch.gui import search_service
from photosearch.gui.main_window import MainWindow
from photosearch.gui.match_header import Matches, split_matches
from photosearch.gui.qt import QColor, Qt
from photosearch.gui.thumbnail_delegate import BOUNDARY_COLOR

TIMEOUT = 20_000


@pytest.fixture
def window(sample_window):  # type: ignore[no-untyped-def]
    """The window on the indexed sample library (``sample_window`` in conftest.py)."""
    return sample_window


def search(window: MainWindow, qtbot, text: str = "", image: str = "") -> None:  # type: ignore[no-untyped-def]
    """Run a query from the search bar and wait until its results are shown."""
    if image:
        window.search_bar.set_image(image)
    window.search_bar.set_text(text)
    qtbot.waitUntil(
        lambda: not window.controller._running and window.results.model.kind == "query",
        timeout=TIMEOUT,
    )


def expected(window: MainWindow, text: str) -> search_service.Outcome:
    """The core's answer to the query the window ran (same library, same k)."""
    return search_service.run_query(window.ctx.searcher, text)


def matches(window: MainWindow) -> list[str | None]:
    return [r.match for r in window.results.model.results()]


def boundary_pixel(window: MainWindow, row: int) -> QColor:
    """The colour the grid paints in the gap left of ``row``'s cell, where the boundary goes."""
    grid = window.results.grid
    rect = grid.visualRect(window.results.model.index(row))
    image = grid.viewport().grab().toImage()
    scale = image.devicePixelRatio()
    return image.pixelColor(int((rect.left() + 1) * scale), int(rect.center().y() * scale))


def test_a_text_query_shows_good_matches_then_the_weaker_ones_after_a_boundary(window, qtbot):
    outcome = expected(window, "dog")
    good = outcome.good
    weak = sum(r.match == "weak" for r in outcome.results)
    assert good and weak  # the sample library has both for "dog"

    search(window, qtbot, "dog")
    results = window.results
    assert results.detail.text() == f"{good} good matches · best matches first"
    assert matches(window) == ["good"] * good  # the weak ones are held back
    button = results.weaker.button
    assert button.isVisible()
    assert button.text().replace("&", "") == f"Show {weak} weaker matches"

    # The button sits right under the last good match, not at the bottom of the window (once
    # the layout has run).
    def gap_above_button() -> int:
        last = results.grid.visualRect(results.model.index(good - 1))
        last_bottom = results.grid.viewport().mapTo(results, last.bottomLeft()).y()
        return button.mapTo(results, button.rect().topLeft()).y() - last_bottom

    qtbot.waitUntil(lambda: 0 <= gap_above_button() <= 40, timeout=TIMEOUT)
    assert results.height() - button.mapTo(results, button.rect().bottomLeft()).y() > 200
    assert not results.note.isVisible()

    window.activateWindow()
    qtbot.waitActive(window)
    window.search_bar.field.setFocus()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.search_bar.field.hasFocus()  # a click leaves the focus where it was
    qtbot.waitUntil(lambda: results.model.rowCount() == good + weak, timeout=TIMEOUT)
    assert matches(window) == ["good"] * good + ["weak"] * weak
    assert [r.photo_id for r in results.model.results()] == [r.photo_id for r in outcome.results]
    assert not results.weaker.isVisible()
    assert results.detail.text() == f"{good} good matches + {weak} weaker · best matches first"
    # The boundary: the grid marks the first weak cell, and only that one.
    assert results.model.weak_from == good
    assert boundary_pixel(window, good) == QColor(BOUNDARY_COLOR)
    assert boundary_pixel(window, good - 1) != QColor(BOUNDARY_COLOR)
    assert boundary_pixel(window, good + 1) != QColor(BOUNDARY_COLOR)

    # Ordering by date keeps the good matches ahead of the weak ones.
    window.filter_bar.set_sort("newest")
    assert matches(window) == ["good"] * good + ["weak"] * weak
    assert results.model.weak_from == good

    # A new query starts with its weaker matches held back again.
    search(window, qtbot, "guitar")
    qtbot.waitUntil(lambda: results.title.text() == "“guitar”", timeout=TIMEOUT)
    assert set(matches(window)) == {"good"}
    assert results.weaker.isVisible()


def test_the_weaker_matches_open_from_the_keyboard(window, qtbot):
    outcome = expected(window, "dog")
    window.activateWindow()
    qtbot.waitActive(window)
    search(window, qtbot, "dog")
    results = window.results
    assert results.model.rowCount() == outcome.good
    results.weaker.button.setFocus()  # as Tab does
    qtbot.keyClick(results.weaker.button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: results.model.rowCount() == len(outcome.results), timeout=TIMEOUT)
    # The keyboard goes on in the grid, from the first weaker match (nothing selected).
    assert results.grid.hasFocus()
    assert results.grid.current_row() == outcome.good
    assert not results.grid.selectionModel().hasSelection()

    # Alt+W from anywhere in the window (the search field here), for the next query.
    search(window, qtbot, "guitar")
    qtbot.waitUntil(lambda: results.weaker.isVisible(), timeout=TIMEOUT)
    window.search_bar.field.setFocus()
    qtbot.keyClick(window.search_bar.field, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: "weak" in matches(window), timeout=TIMEOUT)
    assert not results.weaker.isVisible()
    assert window.search_bar.field.hasFocus()  # typing goes on where it was


def test_a_word_no_class_is_close_to_gets_a_note_line_and_only_weaker_matches(window, qtbot):
    outcome = expected(window, "pigeon")
    assert outcome.good == 0 and outcome.notes
    assert "no photo class is close to 'pigeon'" in outcome.notes[0]

    search(window, qtbot, "pigeon")
    results = window.results
    assert results.note.isVisible()
    note = results.note.text()
    assert note.startswith("No photo class is close to 'pigeon'; showing related: ")
    assert note == "  ·  ".join(n[0].upper() + n[1:] for n in outcome.notes)
    assert note not in results.detail.text()  # said once, on its own line
    assert results.detail.text() == "No good matches · showing weaker ones · best matches first"
    assert results.model.rowCount() == len(outcome.results)  # shown directly, no button
    assert not results.weaker.isVisible()
    assert results.model.weak_from == -1  # nothing to mark: all of them are weaker

    window.search_bar.clear()  # back to the library: no note
    qtbot.waitUntil(lambda: results.title.text() == "All Photos", timeout=TIMEOUT)
    assert not results.note.isVisible()


def test_an_image_query_shows_no_boundary(window, tmp_path, qtbot):
    outside = tmp_path / "query.jpg"
    shutil.copy(sorted((SAMPLE / "dog").glob("*.jpg"))[0], outside)
    search(window, qtbot, image=str(outside))
    results = window.results
    qtbot.waitUntil(lambda: results.title.text() == f"Similar to {Path(outside).name}")
    n = results.model.rowCount()
    assert n == 360
    assert results.detail.text() == f"{n} photos · best matches first"
    assert set(matches(window)) == {None}
    assert results.model.weak_from == -1
    assert not results.weaker.isVisible()
    assert not results.note.isVisible()
    assert boundary_pixel(window, 1) != QColor(BOUNDARY_COLOR)


def test_the_header_says_when_more_good_matches_exist_than_were_fetched():
    """A library with more good matches than the query fetches (1000) says how many it shows."""
    results = [Result(i, f"/p/{i}.jpg", 1.0, "good") for i in range(3)]
    shown, summary = split_matches(results, 5000, show_weak=False)
    assert shown == results
    assert summary == Matches(5000, 3, 0, False)
    assert summary.describe() == "5,000 good matches · best 3 shown"
