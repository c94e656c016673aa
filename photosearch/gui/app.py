"""Start the desktop app: ``photosearch``, ``photosearch gui [--db PATH] [--sample]`` or the
``photosearch-gui`` launcher.

The window is shown before torch is imported; the model loads in the background.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from photosearch.core.errors import DatabaseError
from photosearch.core.library.store import Library, default_db_path
from photosearch.core.resources import sample_photos_dir
from photosearch.gui.context import AppContext
from photosearch.gui.main_window import MainWindow
from photosearch.gui.qt import QApplication, QMessageBox
from photosearch.gui.settings import APPLICATION, ORGANIZATION, Settings
from photosearch.gui.style import app_icon, apply_style

log = logging.getLogger(__name__)

DESKTOP_ID = "io.github.photosearch.Photosearch"


def sample_db_path() -> Path:
    """The demo library: ``$PHOTOSEARCH_DB`` if set, else ``sample-library.db`` in the data dir."""
    if os.environ.get("PHOTOSEARCH_DB"):
        return default_db_path()
    return default_db_path().with_name("sample-library.db")


def make_application(argv: Sequence[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("photosearch")
    app.setDesktopFileName(DESKTOP_ID)
    app.setWindowIcon(app_icon())
    apply_style(app)
    return app


def open_library(db: str | os.PathLike[str] | None, sample: bool) -> Library:
    """The library to show; the demo library gets the bundled sample photos on first run."""
    path = Path(db).expanduser() if db else (sample_db_path() if sample else default_db_path())
    library = Library(path)
    if sample:
        folder = sample_photos_dir()
        if library.folder_by_path(str(folder.resolve())) is None:
            library.add_folder(folder)  # indexed in the background once the window is up
    return library


def run_app(db: str | os.PathLike[str] | None = None, sample: bool = False) -> int:
    app = make_application()
    try:
        library = open_library(db, sample)
    except (DatabaseError, OSError) as exc:
        QMessageBox.critical(None, "photosearch", f"The photo library cannot be opened.\n\n{exc}")
        return 1
    ctx = AppContext(library, Settings())
    window = MainWindow(ctx)
    ctx.errors.install()  # uncaught exceptions: the status bar, or the log and a dialog
    window.start_when_painted()
    window.show()
    try:
        return app.exec()
    finally:
        ctx.errors.uninstall()
        window.shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="photosearch-gui", description="Open the photosearch app."
    )
    parser.add_argument("--db", help="library database file (default: the user's library)")
    parser.add_argument("--sample", action="store_true", help="open the demo library")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return run_app(db=args.db, sample=args.sample)


if __name__ == "__main__":
    sys.exit(main())
