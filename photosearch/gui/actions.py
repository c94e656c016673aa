"""What the user can do with a photo's file: open it, show its folder, copy its path.

Files open through QDesktopServices with a file URL: never through a shell.
"""

from __future__ import annotations

import os

from photosearch.gui.qt import QDesktopServices, QGuiApplication, QUrl


def open_file(path: str) -> bool:
    """Open in the user's default viewer."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def show_in_folder(path: str) -> bool:
    """Open the folder holding ``path`` (or ``path`` itself when it is a folder)."""
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(folder))


def copy_path(path: str) -> None:
    clipboard = QGuiApplication.clipboard()
    clipboard.setText(path)
