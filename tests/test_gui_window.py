"""The main window end to end: real SQLite libraries, real photos, pytest-qt offscreen.

The tiny random encoder stands in for the model where ranking quality is not the point; the
ranking tests use the real model through ``sample_library_path``. A Qt warning fails a test, and
every test ends with all worker threads stopped.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from helpers import SAMPLE, TinyEncoder, copy_sample

from photosearch.gui.main_window import MainWindow
from photosearch.gui.menus import about_text
from photosearch.gui.qt import (
    QApplication,
    QDragEnterEvent,
    QDropEvent,
    QMessageBox,
    QMimeData,
    QPoint,
    QPointF,
    Qt,
    QUrl,
)

TIMEOUT = 20_000


class GatedEncoder(TinyEncoder):
    """Encodes the first batch at once, then waits for ``gate``: lets a test look at the window
    in the middle of an indexing run without sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.batches = 0

    def encode_arrays(self, batch):  # type: ignore[no-untyped-def]
        self.batches += 1
        if self.batches > 1:
            self.gate.wait(30)
        return super().encode_arrays(batch)


def rows(window: MainWindow) -> int:
    return window.results.model.rowCount()


def result_folders(window: MainWindow, n: int) -> list[str]:
    return [Path(r.path).parent.name for r in window.results.model.results()[:n]]


@pytest.fixture
def sample_copy(sample_library_path: Path, tmp_path: Path) -> Path:
    """A private copy of the indexed sample library (tests may write to it)."""
    dest = tmp_path / "sample.db"
    shutil.copy(sample_library_path, dest)
    return dest


# --- empty states -----------------------------------------------------------------------------
def test_empty_library_shows_add_folder_call_to_action(open_window, tmp_path, qtbot):
    window = open_window(tmp_path / "lib.db", TinyEncoder())
    qtbot.waitUntil(lambda: window.results.showing_empty() == "no-folders", timeout=TIMEOUT)
    empty = window.results.empty
    assert "Add a folder" in empty.title.text()
    assert empty.button.isVisible() and "Add a Folder" in empty.button.text()
    assert window.sidebar.hint.isVisible()
    assert not window.status.progress.isVisible()


def test_folder_without_photos_says_so(open_window, tmp_path, qtbot):
    (tmp_path / "empty-folder").mkdir()
    window = open_window(tmp_path / "lib.db", TinyEncoder())
    window.add_folder(str(tmp_path / "empty-folder"))
    qtbot.waitUntil(lambda: window.results.showing_empty() == "no-photos", timeout=TIMEOUT)
    assert window.sidebar.folder_paths() == [str((tmp_path / "empty-folder").resolve())]
    assert "0 photos" in window.sidebar.row_text(window.sidebar.folder_paths()[0])


def test_image_query_on_a_library_without_photos_shows_a_hint(open_window, tmp_path, qtbot):
    (tmp_path / "empty-folder").mkdir()
    window = open_window(tmp_path / "lib.db", TinyEncoder())
    window.add_folder(str(tmp_path / "empty-folder"))
    qtbot.waitUntil(lambda: window.results.showing_empty() == "no-photos", timeout=TIMEOUT)
    window.search_bar.set_image(str(next(SAMPLE.glob("dog/*.jpg"))))
    qtbot.waitUntil(lambda: window.results.showing_empty() == "no-results", timeout=TIMEOUT)
    assert "drop a photo" in window.results.empty.body.text()


# --- adding a folder, indexing progress, live updates -------------------------------------------
def test_adding_a_folder_indexes_it_and_the_grid_fills_while_indexing(open_window, tmp_path, qtbot):
    photos = copy_sample(tmp_path / "photos", ["dog", "car", "pizza", "chair"], per_class=10)
    encoder = GatedEncoder()  # first batch of 32 passes, the rest waits for the gate
    window = open_window(tmp_path / "lib.db", encoder)
    qtbot.waitUntil(lambda: window.results.showing_empty() == "no-folders", timeout=TIMEOUT)

    window.add_folder(str(tmp_path / "photos"))
    # Mid-run: the first batch is in the grid and the status bar shows the progress.
    qtbot.waitUntil(lambda: rows(window) == 32, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.status.progress.isVisible(), timeout=TIMEOUT)
    assert "of 40" in window.status.progress.label.text()
    assert "photos/s" in window.status.progress.label.text()
    qtbot.waitUntil(lambda: "indexing" in window.sidebar.row_text(window.sidebar.folder_paths()[0]))

    # Pause and resume from the status bar.
    window.status.progress.button.click()
    assert window.ctx.indexing.paused
    assert "paused" in window.status.progress.label.text()
    window.status.progress.button.click()
    assert not window.ctx.indexing.paused

    encoder.gate.set()
    qtbot.waitUntil(lambda: rows(window) == len(photos), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not window.status.progress.isVisible(), timeout=TIMEOUT)
    assert window.results.title.text() == "All Photos"
    assert "40 photos" in window.results.detail.text()
    qtbot.waitUntil(
        lambda: "40 photos" in window.sidebar.row_text(window.sidebar.folder_paths()[0]),
        timeout=TIMEOUT,
    )
    # Thumbnails arrive off the GUI thread and land in the on-disk cache.
    qtbot.waitUntil(lambda: any((tmp_path / "thumbnails").rglob("*.jpg")), timeout=TIMEOUT)


def test_photos_copied_into_a_watched_folder_appear_without_a_rescan(open_window, tmp_path, qtbot):
    root = tmp_path / "photos"
    copy_sample(root, ["dog"], per_class=3)
    window = open_window(tmp_path / "lib.db", TinyEncoder())
    window.add_folder(str(root))
    qtbot.waitUntil(lambda: rows(window) == 3, timeout=TIMEOUT)
    # The folder watcher takes over once the first sync is done.
    qtbot.waitUntil(lambda: window.ctx.indexing._watcher is not None, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.ctx.indexing._watcher.state == "watching", timeout=TIMEOUT)
    for name in sorted(p.name for p in (SAMPLE / "pizza").glob("*.jpg"))[:2]:
        shutil.copy2(SAMPLE / "pizza" / name, root / f"new-{name}")
    qtbot.waitUntil(lambda: rows(window) == 5, timeout=TIMEOUT)
    (root / "dog" / "image_0001.jpg").unlink()
    qtbot.waitUntil(lambda: rows(window) == 4, timeout=TIMEOUT)
    qtbot.waitUntil(
        lambda: "4 photos" in window.sidebar.row_text(window.sidebar.folder_paths()[0]),
        timeout=TIMEOUT,
    )


def test_the_grid_follows_change_signals_and_keeps_scroll_and_selection(
    open_window, tmp_path, qtbot
):
    """A photo deleted in a watched folder leaves the grid through the indexing service's
    ``changed`` signal (its id among the removed ones); the user's place and selection stay."""
    root = tmp_path / "photos"
    copy_sample(root, ["dog", "car", "pizza", "chair", "cup", "crab", "camera", "airplane"])
    window = open_window(tmp_path / "lib.db", TinyEncoder())
    window.add_folder(str(root))
    qtbot.waitUntil(lambda: rows(window) == 80, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.ctx.indexing._watcher.state == "watching", timeout=TIMEOUT)
    grid = window.results.grid
    bar = grid.verticalScrollBar()
    assert bar.maximum() > 0  # the grid scrolls: there is a place to keep
    picked = window.results.model.index(40)
    grid.setCurrentIndex(picked)
    selected = window.results.path_at(40)
    bar.setValue(bar.maximum() // 2)
    scroll = bar.value()
    gone = Path(window.results.path_at(0))  # the newest photo, above the visible ones
    gone_id = window.ctx.library.photo_by_path(gone).id
    with qtbot.waitSignal(
        window.ctx.indexing.changed,
        check_params_cb=lambda changes: gone_id in changes.removed_ids,
        timeout=TIMEOUT,
    ):
        gone.unlink()
    qtbot.waitUntil(lambda: rows(window) == 79, timeout=TIMEOUT)
    assert window.results.path_at(grid.current_row()) == selected
    assert bar.value() == scroll


def test_picking_a_folder_in_the_sidebar_shows_only_its_photos(open_window, tmp_path, qtbot):
    copy_sample(tmp_path / "one", ["dog"], per_class=3)
    copy_sample(tmp_path / "two", ["pizza"], per_class=4)
    window = open_window(tmp_path / "lib.db", TinyEncoder())
    window.add_folder(str(tmp_path / "one"))
    window.add_folder(str(tmp_path / "two"))
    qtbot.waitUntil(lambda: rows(window) == 7, timeout=TIMEOUT)
    sidebar = window.sidebar
    two = str((tmp_path / "two").resolve())

    def click_folder(path: str) -> None:
        item = sidebar.list.item(sidebar.folder_paths().index(path))
        rect = sidebar.list.visualItemRect(item)
        qtbot.mouseClick(sidebar.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())

    # Keyboard focus entering the list (Qt then makes a first row current) picks nothing.
    sidebar.list.setFocus()
    qtbot.keyClick(sidebar.list, Qt.Key.Key_Down)
    assert window.controller.folder == ""
    click_folder(two)
    qtbot.waitUntil(lambda: rows(window) == 4, timeout=TIMEOUT)
    assert set(result_folders(window, 4)) == {"pizza"}
    assert window.results.title.text() == "two"
    # A query searches inside the folder too.
    window.controller.set_query("", str(SAMPLE / "dog" / "image_0001.jpg"))
    qtbot.waitUntil(lambda: window.results.title.text().startswith("Similar to"), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: set(result_folders(window, rows(window))) == {"pizza"}, timeout=TIMEOUT)
    window.controller.set_query("", "")
    qtbot.waitUntil(lambda: window.results.title.text() == "two", timeout=TIMEOUT)
    # A second click on the picked folder goes back to every folder; so does Esc.
    click_folder(two)
    qtbot.waitUntil(lambda: rows(window) == 7, timeout=TIMEOUT)
    assert window.results.title.text() == "All Photos"
    click_folder(two)
    qtbot.waitUntil(lambda: rows(window) == 4, timeout=TIMEOUT)
    sidebar.list.setFocus()
    qtbot.keyClick(sidebar.list, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: rows(window) == 7, timeout=TIMEOUT)


def test_dropping_a_folder_adds_it(open_window, tmp_path, qtbot):
    copy_sample(tmp_path / "photos", ["crab"], per_class=5)
    window = open_window(tmp_path / "lib.db", TinyEncoder())
    drop(window, [tmp_path / "photos"])
    qtbot.waitUntil(lambda: rows(window) == 5, timeout=TIMEOUT)
    assert window.sidebar.folder_paths() == [str((tmp_path / "photos").resolve())]


def test_unreadable_photos_are_counted_and_listed(open_window, tmp_path, qtbot):
    copy_sample(tmp_path / "photos", ["cup"], per_class=3)
    (tmp_path / "photos" / "cup" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    window = open_window(tmp_path / "lib.db", TinyEncoder())
    window.add_folder(str(tmp_path / "photos"))
    qtbot.waitUntil(lambda: window.status.errors.isVisible(), timeout=TIMEOUT)
    assert "1 could not be read" in window.status.errors.text()
    window.status.errors.click()
    qtbot.waitUntil(lambda: _open_dialog("Photos that could not be read") is not None)
    dialog = _open_dialog("Photos that could not be read")
    assert dialog.table.item(0, 0).text() == "broken.jpg"
    dialog.close()


def _open_dialog(title: str):  # type: ignore[no-untyped-def]
    for widget in QApplication.topLevelWidgets():
        if widget.isVisible() and widget.windowTitle() == title:
            return widget
    return None


# --- queries with the real model ------------------------------------------------------------------
def drop(window: MainWindow, paths: list[Path]) -> None:
    """Drag ``paths`` onto the window and drop them, as a file manager does."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    args = (
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    try:  # Qt's signature takes a QPoint; some PySide6 releases bind it as QPointF
        enter = QDragEnterEvent(QPoint(400, 300), *args)
    except TypeError:
        enter = QDragEnterEvent(QPointF(400, 300), *args)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDropEvent(QPointF(400, 300), *args))


def test_the_library_shows_newest_first(open_window, sample_copy, real_encoder, qtbot):
    window = open_window(sample_copy, real_encoder)
    qtbot.waitUntil(lambda: rows(window) == 360, timeout=TIMEOUT)
    scores = [r.score for r in window.results.model.results()]
    assert scores == sorted(scores, reverse=True)
    assert "360 photos" in window.results.detail.text()


def test_about_says_what_runs_the_image_model(open_window, sample_copy, real_encoder, qtbot):
    window = open_window(sample_copy, real_encoder)
    qtbot.waitUntil(lambda: window.ctx.models.ready, timeout=TIMEOUT)
    text = about_text(window.ctx)
    runner = "OpenVINO on the CPU" if real_encoder.backend == "openvino" else "PyTorch on cpu"
    assert f"Image model: efficientnet_lite0, {runner}" in text
    assert str(sample_copy) in text


def test_dropping_an_image_file_shows_its_similar_photos(
    open_window, sample_copy, real_encoder, tmp_path, qtbot
):
    outside = tmp_path / "query.jpg"  # not in the library: encoded by the model on a worker
    shutil.copy(sorted((SAMPLE / "sunflower").glob("*.jpg"))[0], outside)
    window = open_window(sample_copy, real_encoder)
    qtbot.waitUntil(lambda: rows(window) == 360, timeout=TIMEOUT)

    drop(window, [outside])
    qtbot.waitUntil(lambda: window.results.title.text() == "Similar to query.jpg", timeout=TIMEOUT)
    assert window.search_bar.chip.isVisible()
    assert window.search_bar.image == str(outside)
    assert window.results.model.kind == "query"
    top = result_folders(window, 5)
    assert top.count("sunflower") >= 4, top

    # Esc clears the query: back to the library.
    window.search_bar.field.setFocus()
    qtbot.keyClick(window.search_bar.field, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.results.title.text() == "All Photos", timeout=TIMEOUT)
    assert not window.search_bar.chip.isVisible()


def test_find_similar_from_the_context_menu(open_window, sample_copy, real_encoder, qtbot):
    window = open_window(sample_copy, real_encoder)
    qtbot.waitUntil(lambda: rows(window) == 360, timeout=TIMEOUT)
    model = window.results.model
    row = next(i for i, r in enumerate(model.results()) if "/dolphin/" in r.path)
    path = model.result(row).path

    menu = window.results.build_menu(row)
    action = next(a for a in menu.actions() if a.text() == "Find Similar")
    action.trigger()
    menu.deleteLater()
    name = Path(path).name
    qtbot.waitUntil(lambda: window.results.title.text() == f"Similar to {name}", timeout=TIMEOUT)
    assert path not in [r.path for r in model.results()]  # the photo itself is left out
    top = result_folders(window, 5)
    assert top.count("dolphin") >= 3, top


def test_a_text_query_puts_the_expected_photos_first(open_window, sample_copy, real_encoder, qtbot):
    pytest.importorskip("photosearch.core.text.query")
    window = open_window(sample_copy, real_encoder)
    qtbot.waitUntil(lambda: rows(window) == 360, timeout=TIMEOUT)
    window.search_bar.field.setFocus()
    qtbot.keyClicks(window.search_bar.field, "guitar")  # debounced: one search after typing
    qtbot.waitUntil(lambda: window.results.title.text() == "“guitar”", timeout=TIMEOUT)
    top = result_folders(window, 10)
    assert top.count("guitar") >= 7, top


def test_a_query_with_no_known_word_says_so(open_window, sample_copy, real_encoder, qtbot):
    pytest.importorskip("photosearch.core.text.query")
    window = open_window(sample_copy, real_encoder)
    qtbot.waitUntil(lambda: rows(window) == 360, timeout=TIMEOUT)
    window.search_bar.field.setText("qzxvw")
    qtbot.keyClick(window.search_bar.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.results.showing_empty() == "query-problem", timeout=TIMEOUT)
    assert "qzxvw" in window.results.empty.body.text()


def test_space_previews_a_photo_with_its_similar_photos(
    open_window, sample_copy, real_encoder, qtbot
):
    window = open_window(sample_copy, real_encoder)
    qtbot.waitUntil(lambda: rows(window) == 360, timeout=TIMEOUT)
    grid = window.results.grid
    grid.setFocus()
    grid.setCurrentIndex(window.results.model.index(3))
    qtbot.keyClick(grid, Qt.Key.Key_Space)
    preview = window._preview
    assert preview is not None and preview.isVisible()
    assert preview.name.text() == Path(window.results.path_at(3)).name
    qtbot.waitUntil(lambda: preview.strip_model.rowCount() == 24, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: preview.image.has_image(), timeout=TIMEOUT)
    assert preview._values["Dimensions"].text() != "—"
    qtbot.keyClick(preview, Qt.Key.Key_Right)
    assert preview.name.text() == Path(window.results.path_at(4)).name
    qtbot.keyClick(preview, Qt.Key.Key_Escape)
    assert not preview.isVisible()


def test_find_duplicates_opens_without_crashing(open_window, tmp_path, qtbot):
    window = open_window(tmp_path / "lib.db", TinyEncoder())
    window.menus.duplicates.trigger()
    opened = [
        w
        for w in QApplication.topLevelWidgets()
        if w.isVisible() and w is not window and w.parent() is window
    ]
    assert opened
    for widget in opened:
        if isinstance(widget, QMessageBox):
            assert "not available" in widget.text()
        widget.close()
