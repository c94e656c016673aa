"""The library database: watched folders, photos and their vectors, in one SQLite file.

SQLite is the source of truth. Writes go through one :class:`~photosearch.core.library.writer.Writer`
thread; every other thread reads through its own connection (:meth:`Library.reader`). WAL mode
lets readers run while the writer commits. The row types are in :mod:`.rows`, the vector and class
tables in :mod:`.vectors`, the embedding and sync pipelines' statements in :mod:`.embeddings` and
:mod:`.photo_sync`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs

from photosearch.core.library.db import (
    Database,
    DatabaseCorruptError,
    DatabaseError,
    DatabaseLockedError,
    chunked_in,
)
from photosearch.core.library.locks import FileLock, open_lock_path, until, wait_for_lock
from photosearch.core.library.meta import note_deleted_photos, read_meta, set_meta
from photosearch.core.library.private import create_private_file, make_private_dirs
from photosearch.core.library.rows import (
    FOLDER_COLUMNS,
    PHOTO_COLUMNS,
    STATUSES,
    Folder,
    Photo,
    path_to_db,
)
from photosearch.core.library.schema import migrate
from photosearch.core.library.vectors import VISUAL_TABLE, delete_vectors, read_classes, read_vector
from photosearch.core.library.writer import Writer

log = logging.getLogger(__name__)


def default_db_path() -> Path:
    """``$PHOTOSEARCH_DB``, else ``library.db`` in the platform's user data folder."""
    env = os.environ.get("PHOTOSEARCH_DB")
    if env:
        return Path(env).expanduser()

    return Path(platformdirs.user_data_dir("photosearch", appauthor=False)) / "library.db"


def default_cache_dir() -> Path:
    env = os.environ.get("PHOTOSEARCH_CACHE")
    if env:
        return Path(env).expanduser()

    return Path(platformdirs.user_cache_dir("photosearch", appauthor=False))


BUSY_TIMEOUT_S = 30.0  # how long a connection waits for another process's lock
# How often `watch` and the app run PRAGMA quick_check on the whole file (on start when the last
# check is older; damage in pages that queries never read goes unnoticed otherwise).
INTEGRITY_CHECK_DAYS = 3
LAST_CHECK_KEY = "last_integrity_check"
REPAIR_HINT = (
    "Run `photosearch repair --db {path}` to set the damaged file aside and start a fresh "
    "library (your photos are not touched)."
)


def switch_to_wal(db: Database, timeout_s: float = BUSY_TIMEOUT_S) -> None:
    """``PRAGMA journal_mode=WAL``, retried while another process holds a lock.

    The busy time-out does not cover this switch: when waiting could deadlock (another process
    holding a write lock, e.g. several processes creating one new library at once), SQLite
    answers "database is locked" at once instead of calling the busy handler.
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.001
    while True:
        try:
            mode = str(db.scalar("PRAGMA journal_mode=WAL")).lower()
            break
        except DatabaseLockedError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    if mode != "wal":
        log.warning("%s stays in journal mode %s (WAL is not possible here)", db.path, mode)


def _configure(db: Database) -> None:
    switch_to_wal(db)
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    migrate(db)


class Library:
    """An open library database. Thread-safe: reads use per-thread connections."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        try:
            make_private_dirs(self.path.parent)
        except OSError as exc:
            raise DatabaseError(f"cannot create the data folder {self.path.parent}: {exc}") from exc
        self._open_lock = _hold_open_lock(self.path)
        try:
            _create_private_database(self.path)
            self.writer = Writer(self.path, _configure)
        except BaseException:
            self._open_lock.release()
            raise
        self._local = threading.local()
        self._readers: list[Database] = []
        self._readers_lock = threading.Lock()

    # --- connections ---------------------------------------------------------------------
    def reader(self) -> Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = Database(self.path)
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
            with self._readers_lock:
                self._readers.append(db)
        return db

    def write(self, fn: Any) -> Any:
        """Run ``fn(db)`` inside a transaction on the writer thread; returns its result."""

        def job(db: Database) -> Any:
            with db.transaction():
                return fn(db)

        return self.writer.call(job)

    def close(self) -> None:
        self.writer.close()
        with self._readers_lock:
            for db in self._readers:
                db.close()
            self._readers.clear()
        self._open_lock.release()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- health --------------------------------------------------------------------------
    def check_integrity(self) -> None:
        """``PRAGMA quick_check`` of the whole file (every page, not only what queries read).

        Raises :class:`DatabaseCorruptError` naming the first problems; a clean result is
        remembered in the meta table (:meth:`integrity_check_due`)."""
        rows = self.reader().query("PRAGMA quick_check(10)")
        lines = [line for r in rows for line in str(r[0]).splitlines()]
        problems = [line for line in lines if line != "ok" and not line.startswith("***")]
        if problems:
            more = " (and more)" if len(problems) > 3 else ""
            raise DatabaseCorruptError(f"{self.path} is damaged: {'; '.join(problems[:3])}{more}")
        self.set_meta(LAST_CHECK_KEY, repr(time.time()))

    def integrity_check_due(self, days: float = INTEGRITY_CHECK_DAYS) -> bool:
        """Whether the last clean :meth:`check_integrity` is older than ``days`` (or never ran)."""
        try:
            last = float(self.meta(LAST_CHECK_KEY) or 0)
        except ValueError:
            last = 0.0
        return time.time() - last >= days * 86400 or last > time.time() + 86400

    def check_integrity_if_due(self, days: float = INTEGRITY_CHECK_DAYS) -> bool:
        """:meth:`check_integrity` when due; returns whether a check ran."""
        if not self.integrity_check_due(days):
            return False
        self.check_integrity()
        return True

    # --- meta ----------------------------------------------------------------------------
    def meta(self, key: str, default: str | None = None) -> str | None:
        return read_meta(self.reader(), key, default)

    def set_meta(self, key: str, value: str) -> None:
        self.write(lambda db: set_meta(db, key, value))

    # --- folders -------------------------------------------------------------------------
    def folders(self) -> list[Folder]:
        rows = self.reader().query(f"SELECT {FOLDER_COLUMNS} FROM folders ORDER BY path")
        return [Folder.from_db(r) for r in rows]

    def folder_by_path(self, path: str) -> Folder | None:
        return next((f for f in self.folders() if f.path == path), None)

    def add_folder(self, path: str | os.PathLike[str], use_polling: bool = False) -> Folder:
        resolved = str(Path(path).expanduser().resolve())

        def add(db: Database) -> None:
            db.execute(
                "INSERT INTO folders(path, added_at, use_polling) VALUES (?, ?, ?) "
                "ON CONFLICT(path) DO NOTHING",
                (path_to_db(resolved), time.time(), int(use_polling)),
            )

        self.write(add)
        folder = self.folder_by_path(resolved)
        assert folder is not None
        return folder

    def remove_folder(self, path: str | os.PathLike[str]) -> bool:
        """Forget a folder and its photos (the files themselves are never touched)."""
        folder = self.folder_by_path(str(Path(path).expanduser().resolve())) or self.folder_by_path(
            str(path)
        )
        if folder is None:
            return False

        def remove(db: Database) -> None:
            ids = [
                r[0] for r in db.query("SELECT id FROM photos WHERE folder_id = ?", (folder.id,))
            ]
            delete_vectors(db, ids)
            db.execute("DELETE FROM photos WHERE folder_id = ?", (folder.id,))
            db.execute("DELETE FROM folders WHERE id = ?", (folder.id,))
            note_deleted_photos(db)

        self.write(remove)
        return True

    # --- photos --------------------------------------------------------------------------
    def photo(self, photo_id: int) -> Photo | None:
        row = self.reader().query_one(
            f"SELECT {PHOTO_COLUMNS} FROM photos WHERE id = ?", (photo_id,)
        )
        return Photo.from_db(row) if row else None

    def photo_by_path(self, path: str | os.PathLike[str]) -> Photo | None:
        text = os.fsdecode(os.path.abspath(os.fspath(path)))
        row = self.reader().query_one(
            f"SELECT {PHOTO_COLUMNS} FROM photos WHERE path = ?", (path_to_db(text),)
        )
        return Photo.from_db(row) if row else None

    def photos(self, ids: Iterable[int]) -> dict[int, Photo]:
        """Photos by id, fetched in chunks (SQLite limits the number of parameters)."""
        wanted = dict.fromkeys(int(i) for i in ids)
        sql = f"SELECT {PHOTO_COLUMNS} FROM photos WHERE id IN ({{marks}})"
        return {row[0]: Photo.from_db(row) for row in chunked_in(self.reader(), sql, wanted)}

    def photo_ids_in_folder(self, path: str | os.PathLike[str]) -> frozenset[int]:
        """Ids of the photos of one watched folder (any status)."""
        folder = self.folder_by_path(os.fspath(path))
        if folder is None:
            return frozenset()
        rows = self.reader().iter("SELECT id FROM photos WHERE folder_id = ?", (folder.id,))
        return frozenset(int(r[0]) for r in rows)

    def photos_with_status(self, status: str, folder_id: int | None = None) -> list[Photo]:
        sql = f"SELECT {PHOTO_COLUMNS} FROM photos WHERE status = ?"
        params: list[Any] = [status]
        if folder_id is not None:
            sql += " AND folder_id = ?"
            params.append(folder_id)
        return [Photo.from_db(r) for r in self.reader().iter(sql + " ORDER BY id", params)]

    def status_counts(self, folder_id: int | None = None) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        sql = "SELECT status, COUNT(*) FROM photos"
        params: tuple[Any, ...] = ()
        if folder_id is not None:
            sql += " WHERE folder_id = ?"
            params = (folder_id,)
        for status, n in self.reader().query(sql + " GROUP BY status", params):
            counts[status] = n
        return counts

    def folder_counts(self) -> dict[int, dict[str, int]]:
        result: dict[int, dict[str, int]] = {}
        rows = self.reader().query("SELECT folder_id, status, COUNT(*) FROM photos GROUP BY 1, 2")
        for folder_id, status, n in rows:
            result.setdefault(folder_id, dict.fromkeys(STATUSES, 0))[status] = n
        return result

    def errors(self, limit: int = 1000) -> list[Photo]:
        rows = self.reader().query(
            f"SELECT {PHOTO_COLUMNS} FROM photos WHERE status = 'error' ORDER BY path LIMIT ?",
            (limit,),
        )
        return [Photo.from_db(r) for r in rows]

    def seq(self) -> int:
        return int(self.meta("seq", "0") or 0)

    def visual_model(self) -> str | None:
        return self.meta("visual_model")

    def semantic_space(self) -> str | None:
        return self.meta("semantic_space")

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                total += p.stat().st_size
        return total

    def visual_vector(self, photo_id: int) -> np.ndarray | None:
        return read_vector(self.reader(), VISUAL_TABLE, photo_id)

    def classes(self, photo_id: int) -> tuple[np.ndarray, np.ndarray] | None:
        return read_classes(self.reader(), photo_id)


def _hold_open_lock(path: Path, timeout_s: float = BUSY_TIMEOUT_S) -> FileLock:
    """The shared lock every process holding the library open keeps (``repair`` takes it
    exclusively). Without a lock file (a read-only folder) the library opens unlocked: SQLite
    then reports what it cannot do."""
    lock = FileLock(open_lock_path(path))
    try:
        held = wait_for_lock(lock, stop_wait=until(time.monotonic() + timeout_s), shared=True)
    except OSError as exc:
        log.debug("no lock file for %s: %s", path, exc)
        return lock
    if not held:
        raise DatabaseLockedError(
            f"{path} is being repaired by another photosearch process; try again when it is done"
        )
    return lock


def _create_private_database(path: Path) -> None:
    """Create a new library file 0600 before SQLite opens it: SQLite would make it 0644, and
    gives its -wal and -shm files the mode of the database file."""
    try:
        create_private_file(path)
    except OSError as exc:  # e.g. a read-only folder: SQLite's own error says it better
        log.debug("cannot create %s: %s", path, exc)
