"""The row types of the library's tables: a watched folder, a photo, and how paths are stored.

:class:`Photo` is the one photo row type: the library and search read it, and the sync pipeline
compares each file found on disk with it (:meth:`Photo.matches`). A full sync reads every row of
the library, so it is a plain slots dataclass (a frozen one takes six times as long to build).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

STATUSES = ("pending", "indexed", "missing", "offline", "error")
SAME_TIME_S = 1e-6  # stat times read back from SQLite as floats: equal within this


# --- paths: file names that are not valid UTF-8 are stored as BLOBs of their raw bytes --------
def path_to_db(path: str) -> str | bytes:
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path)


def path_from_db(value: str | bytes) -> str:
    return os.fsdecode(value) if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Folder:
    id: int
    path: str
    online: bool
    use_polling: bool
    last_scan: float | None

    @classmethod
    def from_db(cls, r: Sequence[Any]) -> Folder:
        """From a row of :data:`FOLDER_COLUMNS`."""
        return cls(r[0], path_from_db(r[1]), bool(r[2]), bool(r[3]), r[4])


FOLDER_COLUMNS = "id, path, online, use_polling, last_scan"


class FoundFile(Protocol):
    """A photo file as a scan finds it: its path and stat signature (``indexing``'s
    ``FileEntry``)."""

    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def mtime(self) -> float: ...
    @property
    def ctime(self) -> float: ...
    @property
    def inode(self) -> int: ...


@dataclass(slots=True)
class Photo:
    """One row of ``photos`` (read-only by convention: changes go through the writer)."""

    id: int
    folder_id: int
    path: str
    size: int
    mtime: float
    content_hash: str | None
    width: int | None
    height: int | None
    taken_at: float | None
    camera: str | None
    status: str
    error: str | None
    model_id: str | None
    added_at: float
    ctime: float | None = None  # None: unknown (a row from before ctime was stored)
    inode: int | None = None

    @classmethod
    def from_db(cls, r: Sequence[Any]) -> Photo:
        """From a row of :data:`PHOTO_COLUMNS` (the path as stored: text, or raw bytes)."""
        if isinstance(r[2], str):  # the common case, without copying the row
            return cls(*r)
        return cls(r[0], r[1], path_from_db(r[2]), *r[3:])

    @property
    def date(self) -> float:
        """Capture time when known, else the file's modification time."""
        return self.taken_at if self.taken_at is not None else self.mtime

    def matches(self, file: FoundFile) -> bool:
        """The file on disk has the signature stored: taken as unchanged without reading it."""
        return (
            self.size == file.size
            and abs(self.mtime - file.mtime) <= SAME_TIME_S
            and self.ctime is not None
            and abs(self.ctime - file.ctime) <= SAME_TIME_S
            and self.inode == file.inode
        )

    def hash_can_tell(self, file: FoundFile) -> bool:
        """A changed signature with the same size: the content hash says whether it changed."""
        return (
            self.size == file.size
            and self.content_hash is not None
            and self.status in ("indexed", "missing", "offline")
        )


PHOTO_COLUMNS = (
    "id, folder_id, path, size, mtime, content_hash, width, height, taken_at, camera, "
    "status, error, model_id, added_at, ctime, inode"
)


def signature(file: FoundFile) -> tuple[int, float, float, int]:
    """``size, mtime, ctime, inode``: the columns a file's stat signature is stored in."""
    return file.size, file.mtime, file.ctime, file.inode
