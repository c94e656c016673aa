"""Files only the user can read: the library (every photo path and capture date), its side files
and the thumbnails are created 0600, their folders 0700, whatever the umask.

The mode is set explicitly right after creation and before any data is written (``os.open``
with the mode, then ``fchmod``; ``mkdir``, then ``chmod``), because the umask can only remove
bits. Files and folders that already exist keep their mode: the user may have chosen it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def make_private_dirs(folder: str | os.PathLike[str]) -> None:
    """Create ``folder`` and any missing parents, each 0700; existing ones are left alone."""
    folder = Path(folder)
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process: not ours to change
        with contextlib.suppress(NotImplementedError):
            os.chmod(path, FOLDER_MODE)


def create_private_file(path: str | os.PathLike[str]) -> bool:
    """Create an empty file 0600 if it does not exist; True if this call created it."""
    try:
        fd = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), FILE_MODE
        )
    except FileExistsError:
        return False
    try:
        _fchmod(fd)
    finally:
        os.close(fd)
    return True


def open_private(path: str | os.PathLike[str], flags: int = os.O_RDWR) -> int:
    """``os.open(path, flags | O_CREAT)``; a file created by the call is 0600."""
    flags |= getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return os.open(path, flags)
    _fchmod(fd)
    return fd


def write_private_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to a new file (0600); fails if ``path`` exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), FILE_MODE)
    try:
        _fchmod(fd)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _fchmod(fd: int) -> None:
    if hasattr(os, "fchmod"):  # not on Windows, where the umask does not apply either
        os.fchmod(fd, FILE_MODE)
