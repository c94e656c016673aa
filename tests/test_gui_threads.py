"""No SQL on the GUI thread: a real window on the indexed sample library runs a scripted session
(start, a text query, find similar, preview, settings, the duplicates dialog, teach a word, add
a folder) while every statement of every library connection records the thread that runs it.

Real model, real widgets (pytest-qt, offscreen), a real SQLite file.
"""

from __future__ import annotations

import threading
import traceback
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from photosearch.core.library.db import Database  # noqa: E402
from photosearch.gui.main_window import MainWindow  # noqa: E402
from photosearch.gui.qt import QApplication, Qt  # noqa: E402

TIMEOUT = 30_000


@pytest.fixture
def gui_thread_sql(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Statements run on the GUI thread once a window exists (opening the library before the
    window is the app's start-up, and allowed), each with the stack that ran it."""
    seen: list[str] = []
    armed = threading.Event()
    for name in ("iter", "execute", "executescript", "executemany"):
        original = getattr(Database, name)

        def wrapper(self, sql, *args, _original=original, **kwargs):  # type: ignore[no-untyped-def]
            if armed.is_set() and threading.current_thread() is threading.main_thread():
                stack = "".join(traceback.format_stack(limit=12)[:-1])
                seen.append(f"{' '.join(str(sql).split())[:80]}\n{stack}")
            return _original(self, sql, *args, **kwargs)

        monkeypatch.setattr(Database, name, wrapper)
    init = MainWindow.__init__

    def arming_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        armed.set()
        init(self, *args, **kwargs)

    monkeypatch.setattr(MainWindow, "__init__", arming_init)
    yield seen
    armed.clear()


def idle(window: MainWindow) -> bool:
    return (
        not window.controller._running
        and not window.ctx.io_runner.busy
        and not window.ctx.search_runner.busy
    )


# gui_thread_sql first: it arms when the window is built (the last assertion checks it did).
def test_the_gui_thread_never_touches_the_database(gui_thread_sql, sample_window, tmp_path, qtbot):
    window = sample_window
    results = window.results

    window.search_bar.field.setText("guitar")  # a text query
    qtbot.keyClick(window.search_bar.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: results.title.text() == "“guitar”", timeout=TIMEOUT)

    path = results.path_at(0)  # find similar
    window.find_similar(path)
    qtbot.waitUntil(
        lambda: results.title.text() == f"Similar to {Path(path).name}", timeout=TIMEOUT
    )

    results.grid.setCurrentIndex(results.model.index(2))  # the preview, and a step in it
    window.show_preview(2)
    preview = window._preview
    assert preview is not None
    qtbot.waitUntil(lambda: preview.strip_model.rowCount() == 24, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: preview._values["Dimensions"].text() not in ("…", "—"))
    qtbot.keyClick(preview, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: preview.strip_model.rowCount() == 24, timeout=TIMEOUT)
    preview.close()

    window.show_settings()  # its folder list is read on a worker
    qtbot.waitUntil(lambda: window._settings_dialog is not None, timeout=TIMEOUT)
    settings = window._settings_dialog
    assert settings is not None
    settings.reject()

    window.menus.duplicates.trigger()  # the app's library, on the dialog's runner
    dialog = window._duplicates
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.groups is not None, timeout=TIMEOUT)
    dialog.reject()

    window.search_bar.clear()  # teach a word from photos of the library
    qtbot.waitUntil(lambda: results.title.text() == "All Photos", timeout=TIMEOUT)
    examples = [r.photo_id for r in results.model.results() if "/starfish/" in r.path][:3]
    window.words.teach("blorp", examples)
    qtbot.waitUntil(lambda: "blorp" in window.sidebar.words.words(), timeout=TIMEOUT)
    window.search_bar.set_text("blorp")
    qtbot.waitUntil(lambda: results.title.text() == "“blorp”", timeout=TIMEOUT)

    empty = tmp_path / "more"
    empty.mkdir()
    window.add_folder(str(empty))  # a write, then the sidebar and the view re-read
    qtbot.waitUntil(lambda: len(window.sidebar.folder_paths()) == 2, timeout=TIMEOUT)
    qtbot.wait(1200)  # a poll of the change counter and the live refresh it triggers
    qtbot.waitUntil(lambda: idle(window), timeout=TIMEOUT)

    QApplication.processEvents()
    assert not gui_thread_sql, "SQL on the GUI thread:\n\n" + "\n\n".join(gui_thread_sql[:3])
    window.ctx.library.folders()  # the guard itself: a read on the GUI thread is caught
    assert [sql for sql in gui_thread_sql if "FROM folders" in sql]
