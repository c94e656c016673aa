"""Regenerate the GUI screenshots in this folder (needs an X server, e.g. Xvfb).

    Xvfb :99 -screen 0 1400x900x24 &
    DISPLAY=:99 QT_QPA_PLATFORM=xcb python docs/screenshots/take_screenshots.py SAMPLE_DB

SAMPLE_DB: a library of the bundled sample photos, indexed (``photosearch index`` on
resources/sample-photos). It is copied first; the original is not modified.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from photosearch.core.library.store import Library
from photosearch.core.resources import sample_photos_dir
from photosearch.gui.app import make_application
from photosearch.gui.context import AppContext
from photosearch.gui.main_window import MainWindow
from photosearch.gui.qt import QApplication, QCursor, QEventLoop, QSettings, QTimer
from photosearch.gui.settings import Settings

OUT = Path(__file__).parent
SIZE = (1360, 860)


def wait_until(condition, timeout_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    loop_steps = int(timeout_s * 20)
    for _ in range(loop_steps):
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if condition():
            return
        loop = QEventLoop()
        QTimer.singleShot(50, loop.quit)
        loop.exec()
    raise TimeoutError("screenshot state not reached")


def settle(window: MainWindow, ms: int = 600) -> None:
    QCursor.setPos(0, 0)  # no hover effect on a photo
    wait_until(lambda: not window.ctx.search_runner.busy)
    wait_until(lambda: window.ctx.thumbnails.idle)
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def open_window(db: Path, tmp: Path) -> MainWindow:
    settings = Settings(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(AppContext(Library(db), settings))
    window.resize(*SIZE)
    window.start_when_painted()
    window.show()
    return window


def select_folder_photos(window: MainWindow, folder: str, n: int) -> list[int]:
    """Select the first ``n`` results from a sample folder; returns their rows."""
    model, grid = window.results.model, window.results.grid
    rows = [i for i, r in enumerate(model.results()) if Path(r.path).parent.name == folder][:n]
    grid.clearSelection()
    flags = grid.selectionModel().SelectionFlag.Select
    for row in rows:
        grid.selectionModel().select(model.index(row), flags)
    grid.setFocus()
    return rows


def teach(window: MainWindow, folder: str, n: int, word: str, shot: str = "") -> None:
    """Teach ``word`` from ``n`` photos of a sample folder, as a user does (Ctrl+T, type, Enter)."""
    select_folder_photos(window, folder, n)
    window.results.photo_actions.teach.trigger()
    wait_until(lambda: window.words.dialog is not None)
    dialog = window.words.dialog
    assert dialog is not None
    dialog.field.setText(word)
    if shot:
        wait_until(lambda: dialog.isVisible())
        settle(window, 300)
        dialog.grab().save(str(OUT / shot))
    dialog.accept()
    wait_until(lambda: word in window.sidebar.words.words())


def teach_shots(window: MainWindow) -> None:
    window.search_bar.clear()
    wait_until(lambda: window.results.title.text() == "All Photos")
    settle(window)
    teach(window, "dolphin", 5, "flipper", "teach-dialog.png")
    teach(window, "dog", 4, "rex")
    teach(window, "motorbike", 3, "my bike")
    # Your words in the sidebar, and a taught word's photos with its header.
    window.sidebar.words.word_picked.emit("flipper")
    wait_until(lambda: window.results.title.text() == "“flipper”")
    wait_until(lambda: window.results.taught.isVisible())
    window.results.grid.clearSelection()
    settle(window)
    window.grab().save(str(OUT / "taught-word.png"))

    # A text query refined by marks: ✓ on three sailboats, ✗ on a ferry, then Refine.
    window.search_bar.set_text("boat")
    wait_until(lambda: window.results.title.text() == "“boat”")
    settle(window)
    window.controller.show_weaker()
    for folder, n, key in (("sailboat", 3, "mark_right"), ("ferry", 1, "mark_wrong")):
        select_folder_photos(window, folder, n)
        getattr(window.results.photo_actions, key).trigger()
    window.results.grid.clearSelection()
    window.results.grid.scrollToTop()
    settle(window)
    window.grab().save(str(OUT / "marked-result.png"))
    window.results.photo_actions.refine.trigger()
    wait_until(lambda: window.results.title.text() == "“boat” · refined")
    window.results.grid.clearSelection()
    settle(window)
    window.grab().save(str(OUT / "refined-result.png"))


def main() -> int:
    app = make_application()
    tmp = Path(tempfile.mkdtemp(prefix="photosearch-shots-"))
    # 1. A new user's first view.
    window = open_window(tmp / "empty.db", tmp)
    wait_until(lambda: window.results.showing_empty() == "no-folders")
    settle(window)
    window.grab().save(str(OUT / "empty-library.png"))
    window.close()

    db = tmp / "sample.db"
    shutil.copy(sys.argv[1], db)
    window = open_window(db, tmp)
    wait_until(lambda: window.results.model.rowCount() > 0)
    settle(window)
    window.grab().save(str(OUT / "library.png"))

    # 2. A text query.
    window.search_bar.set_text("boat")
    wait_until(lambda: window.results.title.text() == "“boat”")
    settle(window)
    window.grab().save(str(OUT / "text-query.png"))

    # 3. A text query's good matches, then its weaker ones after the boundary.
    window.search_bar.set_text("dog")
    wait_until(lambda: window.results.title.text() == "“dog”")
    settle(window)
    window.grab().save(str(OUT / "text-query-good-matches.png"))
    window.results.weaker.button.click()
    wait_until(lambda: window.results.model.weak_from > 0)
    settle(window)
    window.grab().save(str(OUT / "text-query-boundary.png"))

    # 4. A word no photo class is close to: the note line says what is shown instead.
    window.search_bar.set_text("pigeon")
    wait_until(lambda: window.results.title.text() == "“pigeon”")
    settle(window)
    window.grab().save(str(OUT / "text-query-unseen-word.png"))

    # 5. Similar photos of an image (as if dropped on the window).
    window.search_bar.field.clear()
    query = sorted((sample_photos_dir() / "flamingo").glob("*.jpg"))[2]
    window.search_bar.set_image(str(query))
    wait_until(lambda: window.results.title.text().startswith("Similar to"))
    settle(window)
    window.grab().save(str(OUT / "similar-image.png"))

    # 6. The preview of the first result.
    window.results.grid.setCurrentIndex(window.results.model.index(0))
    window.show_preview(0)
    preview = window.preview()
    preview.resize(1180, 760)
    wait_until(lambda: preview.image.has_image() and preview.strip_model.rowCount() > 0)
    settle(window, 1200)
    preview.grab().save(str(OUT / "preview.png"))
    preview.close()

    # 7. Taught words and feedback (docs/gui.md, "Teach a word, and feedback on results").
    teach_shots(window)
    window.close()
    app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
