"""The GUI's parts on their own: drops, thumbnails, background tasks, status texts, search
service errors, and the promise that the window appears before torch is imported."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import SAMPLE

from photosearch.gui import drops, search_service
from photosearch.gui.qt import QImage, QMimeData, QUrl
from photosearch.gui.results_model import ResultsModel
from photosearch.gui.status_bar import format_eta, progress_text
from photosearch.gui.tasks import TaskRunner
from photosearch.gui.thumbnails import ThumbnailCache, ThumbnailLoader

PHOTO = sorted((SAMPLE / "dog").glob("*.jpg"))[0]


def test_a_dropped_folder_is_added_and_a_dropped_image_searched(qapp, tmp_path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path)), QUrl.fromLocalFile(str(PHOTO))])
    drop = drops.interpret(mime)
    assert drop.folders == [str(tmp_path)]
    assert drop.image == str(PHOTO)


def test_image_data_from_a_browser_becomes_a_file(qapp, tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTOSEARCH_CACHE", str(tmp_path / "cache"))
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.org/cat.jpg")])
    image = QImage(str(PHOTO))
    mime.setImageData(image)
    drop = drops.interpret(mime)
    assert drop.image.startswith(str(tmp_path / "cache"))
    assert QImage(drop.image).size() == image.size()


def test_a_web_address_alone_cannot_be_searched_offline(qapp):
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.org/cat.jpg")])
    drop = drops.interpret(mime)
    assert not drop.useful
    assert "offline" in drop.problem


def test_thumbnails_are_cached_on_disk_by_path_size_and_mtime(qapp, tmp_path):
    photo = tmp_path / "p.jpg"
    photo.write_bytes(PHOTO.read_bytes())
    cache = ThumbnailCache(tmp_path / "thumbs")
    image = cache.load(str(photo))
    assert not image.isNull() and min(image.width(), image.height()) <= cache.side
    first = cache.file_for(str(photo))
    assert first is not None and first.exists()
    os.utime(photo, (1_000_000, 1_000_000))  # an edited photo gets a new thumbnail
    assert cache.file_for(str(photo)) != first
    assert cache.load(str(tmp_path / "missing.jpg")).isNull()


def test_the_loader_delivers_square_thumbnails_on_the_gui_thread(qtbot, tmp_path):
    loader = ThumbnailLoader(ThumbnailCache(tmp_path / "thumbs"))
    assert loader.pixmap(str(PHOTO), 120) is None  # queued
    with qtbot.waitSignal(loader.ready, timeout=10_000) as blocker:
        pass
    assert blocker.args == [str(PHOTO), 120]
    pixmap = loader.pixmap(str(PHOTO), 120)
    assert pixmap is not None and pixmap.width() == pixmap.height() == 120
    loader.pixmap(str(tmp_path / "nope.jpg"), 120)
    qtbot.waitUntil(lambda: loader.failed(str(tmp_path / "nope.jpg")))
    loader.shutdown()


def test_task_runner_delivers_results_and_errors(qtbot):
    runner = TaskRunner(2, "test")
    got: list[object] = []
    runner.run(lambda: 6 * 7, got.append)
    runner.run(lambda: 1 / 0, None, got.append)
    qtbot.waitUntil(lambda: len(got) == 2)
    assert 42 in got
    assert any(isinstance(x, ZeroDivisionError) for x in got)
    assert runner.shutdown()
    assert runner.run(lambda: got.append("late")) == -1  # closed: nothing runs any more


def test_a_failure_without_a_handler_reaches_the_user(qtbot):
    """A user error (a locked library, a full disk) goes to the status bar's signal; a bug to
    the log and the dialog's signal; from the real runner and from the synchronous one."""
    from photosearch.core.errors import DatabaseFullError
    from photosearch.gui.errors import ErrorReporter
    from photosearch.gui.tasks import SyncRunner

    def full() -> None:
        raise DatabaseFullError("cannot write to lib.db: the disk is full")

    def bug() -> None:
        raise KeyError("oops")

    def reported(kind: type[TaskRunner]) -> tuple[list[str], list[tuple[str, str]]]:
        errors = ErrorReporter()
        said: list[str] = []
        bugs: list[tuple[str, str]] = []
        errors.user_message.connect(said.append)
        errors.bug.connect(lambda summary, details: bugs.append((summary, details)))
        runner = kind(1, "test", errors=errors)
        runner.run(full)
        runner.run(bug)
        qtbot.waitUntil(lambda: len(said) + len(bugs) == 2)
        assert runner.shutdown()
        return said, bugs

    for kind in (TaskRunner, SyncRunner):
        said, bugs = reported(kind)
        assert said == ["Cannot write to lib.db: the disk is full"]
        assert len(bugs) == 1 and bugs[0][0] == "'oops'" and "KeyError" in bugs[0][1]


def test_the_excepthook_sorts_uncaught_exceptions(qtbot):
    import sys
    import threading

    from photosearch.core.errors import DatabaseLockedError
    from photosearch.gui.errors import ErrorReporter

    errors = ErrorReporter()
    said: list[str] = []
    bugs: list[str] = []
    errors.user_message.connect(said.append)
    errors.bug.connect(lambda summary, _details: bugs.append(summary))
    errors.install()
    try:
        try:
            raise DatabaseLockedError("lib.db is locked by another program")
        except DatabaseLockedError:
            sys.excepthook(*sys.exc_info())
        worker = threading.Thread(target=lambda: 1 / 0, name="a-worker")
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: len(bugs) == 1)
    finally:
        errors.uninstall()
    assert said == ["Lib.db is locked by another program"]
    assert bugs[0].startswith("Unexpected error in a-worker: ")
    assert sys.excepthook is sys.__excepthook__


def test_progress_texts():
    class P:
        phase, done, total, rate, eta_s = "embed", 120, 360, 35.2, 7.0

    assert progress_text(P()) == "Indexing 120 of 360 · 35 photos/s · about 7 s left"
    assert "paused" in progress_text(P(), paused=True)
    assert format_eta(5400) == "about 1 h 30 min left"
    assert format_eta(None) == ""


def test_query_problems_are_told_apart_from_failures():
    """By class only: a look-alike class with the same name is not a query problem."""
    from photosearch.core.errors import DatabaseLockedError
    from photosearch.core.teach.words import TeachError
    from photosearch.core.text.query import QuerySyntaxError
    from photosearch.core.text.semantic import UnknownQueryError

    class LookAlike(ValueError):
        pass

    LookAlike.__name__ = "UnknownQueryError"
    assert search_service.query_problem(UnknownQueryError("no known word")) == "no known word"
    assert search_service.query_problem(QuerySyntaxError("unclosed quote")) == "unclosed quote"
    assert search_service.query_problem(TeachError("no such word")) == "no such word"
    assert search_service.query_problem(LookAlike("no known word")) is None
    assert search_service.query_problem(DatabaseLockedError("locked")) is None
    assert search_service.query_problem(RuntimeError("boom")) is None


# Loaded on first use, after the first paint (docs/architecture.md, lazy imports): start-up
# stays as fast as before issue 17, when these were first moved to module level by mistake.
NOT_AT_FIRST_PAINT = (
    "torch",
    "PIL",  # thumbnails' Pillow fallback, the encoders
    "photosearch.core.vision.loader",  # the encoders
    "photosearch.core.text.query",  # the text layer: WordNet, ConSE, the query language
    "photosearch.gui.duplicates_view",
)


def test_the_window_appears_before_torch_and_the_lazy_layers_load(tmp_path):
    """Launch in a fresh interpreter: at the first paint of the window neither torch nor the
    layers only a query or a dialog needs are loaded."""
    script = textwrap.dedent(
        """
        import sys
        from photosearch.gui.app import make_application, open_library
        from photosearch.gui.context import AppContext
        from photosearch.gui.main_window import MainWindow
        from photosearch.gui.qt import QEvent, QObject, QTimer
        from photosearch.gui.settings import Settings

        app = make_application()
        window = MainWindow(AppContext(open_library(sys.argv[1], False), Settings()))

        class First(QObject):
            def eventFilter(self, obj, event):
                if event.type() == QEvent.Type.Paint:
                    print(sorted(set(sys.argv[2].split(",")) & set(sys.modules)), flush=True)
                    window.removeEventFilter(self)
                    QTimer.singleShot(0, app.quit)
                return super().eventFilter(obj, event)

        watcher = First()
        window.installEventFilter(watcher)
        window.start_when_painted()  # as run_app does: the model loads after the first paint
        window.show()
        app.exec()
        window.shutdown()
        """
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "lib.db"), ",".join(NOT_AT_FIRST_PAINT)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=Path(__file__).parents[1],
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


LEAK_PROBE = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QModelIndex
from PySide6.QtGui import QGuiApplication
app = QGuiApplication([])
before = sys.getrefcount(None)
for _ in range(20000):
    QModelIndex().data()
print(before - sys.getrefcount(None))
"""


def test_installed_pyside_does_not_drop_references_to_none():
    """PySide6 6.12.0 on Python < 3.12 drops a reference to None per empty return and a long
    session aborts with "deallocating None"; pyproject.toml excludes it. This fails if it
    comes back."""
    out = subprocess.run(
        [sys.executable, "-c", LEAK_PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr[-500:]
    assert abs(int(out.stdout.strip())) < 100


def first_row(grid) -> int:  # type: ignore[no-untyped-def]
    """How many cells the grid's first row holds as laid out."""
    model = grid.model()
    tops = [grid.visualRect(model.index(i)).top() for i in range(model.rowCount())]
    return tops.count(tops[0])


@pytest.mark.parametrize("width", [1014, 1100, 640])
def test_the_grid_columns_fill_the_width_with_or_without_a_scroll_bar(qtbot, tmp_path, width):
    """The cells are widened to fill the width, and Qt's layout fits as many columns as the
    grid computed (where the weaker-matches button goes is computed from them). At 1014 px,
    fitting the viewport's width while no scroll bar showed made cells one column too few
    fitted, leaving most of a column empty at the right."""
    from photosearch.core.search.searcher import Result
    from photosearch.gui.photo_grid import PhotoGrid

    loader = ThumbnailLoader(ThumbnailCache(tmp_path / "thumbs"))
    photos = sorted(SAMPLE.glob("*/*.jpg"))
    for count in (10, 120):  # fits (no scroll bar), then scrolls
        model = ResultsModel(loader)
        model.set_results([Result(i, str(p), 1.0) for i, p in enumerate(photos[:count])], "query")
        grid = PhotoGrid(model, 168)
        qtbot.addWidget(grid)
        grid.resize(width, 900)
        grid.show()
        qtbot.waitExposed(grid)
        columns, cell = grid._columns()
        scrolls = count == 120
        qtbot.waitUntil(
            lambda g=grid, c=columns, s=scrolls: (
                first_row(g) == c and g.verticalScrollBar().isVisible() == s
            )
        )
        right = grid.visualRect(model.index(columns - 1)).right()
        assert 0 <= grid.viewport().width() - (right + 1) < 40
        if not scrolls:
            assert grid.height_for(count) == -(-count // columns) * cell + 2 * grid.frameWidth()
    loader.shutdown()
