"""The library database: watched folders, photos and their vectors, in one SQLite file.

SQLite is the source of truth. Writes go through one :class:`~photosearch.core.library.writer.Writer`
thread; every other thread reads through its own connection (:meth:`Library.reader`). WAL mode
lets readers run while the writer commits.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
from photosearch.core.library.private import create_private_file, make_private_dirs
from photosearch.core.library.schema import migrate
from photosearch.core.library.writer import Writer

log = logging.getLogger(__name__)

STATUSES = ("pending", "indexed", "missing", "offline", "error")
TOP_K_CLASSES = 32
VISUAL_TABLE = "vec_visual"
SEMANTIC_TABLE = "vec_semantic"


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


@dataclass(frozen=True)
class Photo:
    """One row of ``photos``, as the library and search read it (the sync pipeline compares files
    with its own ``PhotoRow`` in ``indexing/diff.py``)."""

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

    @property
    def date(self) -> float:
        """Capture time when known, else the file's modification time."""
        return self.taken_at if self.taken_at is not None else self.mtime


PHOTO_COLUMNS = (
    "id, folder_id, path, size, mtime, content_hash, width, height, taken_at, camera, "
    "status, error, model_id, added_at, ctime, inode"
)


def photo_from_row(row: Sequence[Any]) -> Photo:
    values = list(row)
    values[2] = path_from_db(values[2])
    return Photo(*values)


@dataclass
class Embedded:
    """One photo's indexing result, as the indexer hands it to the writer."""

    photo_id: int
    size: int
    mtime: float
    content_hash: str
    width: int
    height: int
    taken_at: float | None
    camera: str | None
    vector: np.ndarray  # (visual_dim,) float32
    top_ids: np.ndarray  # (K,) uint16
    top_probs: np.ndarray  # (K,) float32
    semantic: np.ndarray | None = None  # (semantic_dim,) float32
    ctime: float | None = None  # with size, mtime and inode: the file's stat signature
    inode: int | None = None


def top_classes(probs: np.ndarray, k: int = TOP_K_CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """(n, 1000) probabilities -> (n, k) class ids (uint16) and probabilities, best first (ties
    by class index, so the result is reproducible)."""
    probs = np.asarray(probs, np.float32)
    k = min(k, probs.shape[1])
    ids = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return ids.astype(np.uint16), np.take_along_axis(probs, ids, axis=1)


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
        return self.reader().scalar("SELECT value FROM meta WHERE key = ?", (key,), default)

    def set_meta(self, key: str, value: str) -> None:
        self.write(lambda db: set_meta(db, key, value))

    # --- folders -------------------------------------------------------------------------
    def folders(self) -> list[Folder]:
        rows = self.reader().query(
            "SELECT id, path, online, use_polling, last_scan FROM folders ORDER BY path"
        )
        return [Folder(r[0], path_from_db(r[1]), bool(r[2]), bool(r[3]), r[4]) for r in rows]

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
        return photo_from_row(row) if row else None

    def photo_by_path(self, path: str | os.PathLike[str]) -> Photo | None:
        text = os.fsdecode(os.path.abspath(os.fspath(path)))
        row = self.reader().query_one(
            f"SELECT {PHOTO_COLUMNS} FROM photos WHERE path = ?", (path_to_db(text),)
        )
        return photo_from_row(row) if row else None

    def photos(self, ids: Iterable[int]) -> dict[int, Photo]:
        """Photos by id, fetched in chunks (SQLite limits the number of parameters)."""
        wanted = dict.fromkeys(int(i) for i in ids)
        sql = f"SELECT {PHOTO_COLUMNS} FROM photos WHERE id IN ({{marks}})"
        return {row[0]: photo_from_row(row) for row in chunked_in(self.reader(), sql, wanted)}

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
        return [photo_from_row(r) for r in self.reader().iter(sql + " ORDER BY id", params)]

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
        return [photo_from_row(r) for r in rows]

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
        if not table_exists(self.reader(), VISUAL_TABLE):
            return None
        blob = self.reader().scalar(
            f"SELECT embedding FROM {VISUAL_TABLE} WHERE photo_id = ?", (photo_id,)
        )
        return None if blob is None else np.frombuffer(blob, dtype=np.float32).copy()

    def classes(self, photo_id: int) -> tuple[np.ndarray, np.ndarray] | None:
        row = self.reader().query_one(
            "SELECT class_ids, probs FROM photo_classes WHERE photo_id = ?", (photo_id,)
        )
        if row is None:
            return None
        return decode_classes(row[0], row[1])


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


# --- helpers that run on the writer thread, inside a transaction ------------------------------
def set_meta(db: Database, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def bump_seq(db: Database) -> int:
    """Advance the change counter; rows changed in this transaction get the new value."""
    seq = int(db.scalar("SELECT value FROM meta WHERE key = 'seq'", default="0")) + 1
    set_meta(db, "seq", str(seq))
    return seq


DELETED_SEQ_KEY = "deleted_seq"


def note_deleted_photos(db: Database, seq: int | None = None) -> int:
    """Record that photo rows were deleted outright: unlike changed rows they leave no row with
    a new ``seq``, so readers that follow ``seq`` (the vector index) check this key instead of
    counting the whole library after every change. ``seq``: this transaction's, if bumped."""
    seq = bump_seq(db) if seq is None else seq
    set_meta(db, DELETED_SEQ_KEY, str(seq))
    return seq


def table_exists(db: Database, name: str) -> bool:
    return db.scalar("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)) is not None


def ensure_vector_table(db: Database, table: str, dim: int, owner: str, owner_key: str) -> bool:
    """Create ``table`` (vec0, float[dim]) for ``owner`` (a model or word-space id).

    When the stored vectors came from another owner or dimension they are dropped and ``True`` is
    returned: the caller must then mark the affected photos for recomputation.
    """
    current = db.scalar("SELECT value FROM meta WHERE key = ?", (owner_key,))
    current_dim = db.scalar("SELECT value FROM meta WHERE key = ?", (owner_key + "_dim",))
    exists = table_exists(db, table)
    if exists and current == owner and current_dim == str(dim):
        return False
    if exists:
        db.execute(f"DROP TABLE {table}")
    db.execute(
        f"CREATE VIRTUAL TABLE {table} USING vec0(photo_id INTEGER PRIMARY KEY, embedding float[{dim}])"
    )
    set_meta(db, owner_key, owner)
    set_meta(db, owner_key + "_dim", str(dim))
    return exists or current is not None


def delete_vectors(db: Database, ids: Sequence[int]) -> None:
    if not ids:
        return
    for table in (VISUAL_TABLE, SEMANTIC_TABLE):
        if table_exists(db, table):
            db.executemany(f"DELETE FROM {table} WHERE photo_id = ?", [(i,) for i in ids])
    db.executemany("DELETE FROM photo_classes WHERE photo_id = ?", [(i,) for i in ids])


def encode_classes(ids: np.ndarray, probs: np.ndarray) -> tuple[bytes, bytes]:
    return ids.astype("<u2").tobytes(), probs.astype("<f2").tobytes()


def decode_classes(ids: bytes, probs: bytes) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.frombuffer(ids, dtype="<u2").astype(np.int64),
        np.frombuffer(probs, dtype="<f2").astype(np.float32),
    )


def write_embeddings(db: Database, model_id: str, rows: Sequence[Embedded]) -> None:
    """Store a batch of results and mark the photos indexed (call inside a transaction)."""
    if not rows:
        return
    seq = bump_seq(db)
    ids = [r.photo_id for r in rows]
    # vec0 has no upsert: replace by delete + insert.
    delete_vectors(db, ids)
    db.executemany(
        f"INSERT INTO {VISUAL_TABLE}(photo_id, embedding) VALUES (?, ?)",
        [(r.photo_id, np.ascontiguousarray(r.vector, dtype=np.float32).tobytes()) for r in rows],
    )
    db.executemany(
        "INSERT INTO photo_classes(photo_id, class_ids, probs) VALUES (?, ?, ?)",
        [(r.photo_id, *encode_classes(r.top_ids, r.top_probs)) for r in rows],
    )
    semantic = [r for r in rows if r.semantic is not None]
    if semantic and table_exists(db, SEMANTIC_TABLE):
        db.executemany(
            f"INSERT INTO {SEMANTIC_TABLE}(photo_id, embedding) VALUES (?, ?)",
            [
                (r.photo_id, np.ascontiguousarray(r.semantic, dtype=np.float32).tobytes())
                for r in semantic
            ],
        )
    db.executemany(
        "UPDATE photos SET size = ?, mtime = ?, ctime = ?, inode = ?, content_hash = ?, "
        "width = ?, height = ?, taken_at = ?, camera = ?, status = 'indexed', error = NULL, "
        "model_id = ?, seq = ? WHERE id = ?",
        [
            (
                r.size,
                r.mtime,
                r.ctime,
                r.inode,
                r.content_hash,
                r.width,
                r.height,
                r.taken_at,
                r.camera,
                model_id,
                seq,
                r.photo_id,
            )
            for r in rows
        ],
    )


def write_errors(db: Database, errors: Sequence[tuple[int, str]]) -> None:
    if not errors:
        return
    seq = bump_seq(db)
    db.executemany(
        "UPDATE photos SET status = 'error', error = ?, seq = ? WHERE id = ?",
        [(message, seq, photo_id) for photo_id, message in errors],
    )


def read_semantic(db: Database, photo_id: int) -> np.ndarray | None:
    """A photo's stored word-space vector, or None (none stored, or no word space yet)."""
    if not table_exists(db, SEMANTIC_TABLE):
        return None
    blob = db.scalar(f"SELECT embedding FROM {SEMANTIC_TABLE} WHERE photo_id = ?", (photo_id,))
    return None if blob is None else np.frombuffer(blob, dtype=np.float32).copy()


def write_semantic(db: Database, rows: Sequence[tuple[int, np.ndarray]]) -> None:
    """Replace semantic vectors (after the word space changed)."""
    if not rows:
        return
    bump_seq(db)
    db.executemany(f"DELETE FROM {SEMANTIC_TABLE} WHERE photo_id = ?", [(i,) for i, _ in rows])
    db.executemany(
        f"INSERT INTO {SEMANTIC_TABLE}(photo_id, embedding) VALUES (?, ?)",
        [(i, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for i, v in rows],
    )
