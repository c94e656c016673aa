"""A small SQLite connection wrapper that loads sqlite-vec on any CPython.

The stdlib ``sqlite3`` is used when it can load extensions; many Pythons (macOS's system Python,
some distributions) are built without that, so ``apsw`` (a dependency) is the fallback, then
``pysqlite3``. All three are used through :class:`Database`, in autocommit mode with explicit
transactions.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from photosearch.core.errors import (
    DatabaseCorruptError,
    DatabaseError,
    DatabaseFullError,
    DatabaseLockedError,
)

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any]
IN_CHUNK = (
    500  # values per ``IN (...)`` list: under SQLite's bound-parameter limit (999 in old builds)
)


__all__ = [
    "Database",
    "DatabaseCorruptError",
    "DatabaseError",
    "DatabaseFullError",
    "DatabaseLockedError",
]


def _stdlib_can_load_extensions() -> bool:
    # Lazy: probing which SQLite driver can load sqlite-vec; only the one chosen stays loaded.
    import sqlite3

    return hasattr(sqlite3.Connection, "enable_load_extension")


def driver_name() -> str:
    """Which SQLite binding this Python uses: ``sqlite3``, ``apsw`` or ``pysqlite3``."""
    forced = os.environ.get("PHOTOSEARCH_SQLITE_DRIVER")
    if forced:
        return forced
    if _stdlib_can_load_extensions():
        return "sqlite3"
    try:
        # Lazy: apsw is the fallback driver, loaded only where the stdlib cannot load extensions.
        import apsw  # noqa: F401

        return "apsw"
    except ImportError:
        pass
    try:
        import pysqlite3  # noqa: F401

        return "pysqlite3"
    except ImportError:
        pass
    raise DatabaseError(
        "this Python's sqlite3 cannot load extensions and neither apsw nor pysqlite3 is "
        "installed: pip install apsw"
    )


def _vec_path() -> str:
    # Lazy: the extension's path is needed only when a connection opens.
    import sqlite_vec

    return str(sqlite_vec.loadable_path())


def _is_corruption(exc: BaseException) -> bool:
    text = str(exc).lower()
    name = type(exc).__name__
    return (
        name in {"CorruptError", "NotADBError"}
        or "file is not a database" in text
        or "malformed" in text
        or "file is encrypted" in text
    )


def _is_locked(exc: BaseException) -> bool:
    return type(exc).__name__ in {"BusyError", "LockedError"} or "locked" in str(exc).lower()


def _disk_nearly_full(path: Path) -> bool:
    try:
        st = os.statvfs(path.parent)
    except (OSError, AttributeError):  # no statvfs on Windows
        return False
    return st.f_bavail * st.f_frsize < (1 << 20)


def _open_hint(path: Path) -> str:
    """Why SQLite could not open ``path``, in words, when it can be told."""
    folder = path.parent
    if not folder.is_dir():
        return f" (the folder {folder} does not exist)"
    if not path.exists() and not os.access(folder, os.W_OK):
        return f" (the folder {folder} is read-only: choose another place with --db)"
    if path.exists() and not os.access(path, os.R_OK):
        return " (permission denied)"
    return ""


class Database:
    """One connection, used from one thread at a time."""

    def __init__(
        self, path: str | os.PathLike[str], readonly: bool = False, timeout_s: float = 30
    ) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.driver = driver_name()
        self._thread_id = threading.get_ident()
        try:
            self._conn = self._open(timeout_s)
        except Exception as exc:
            raise self._wrap(exc) from exc

    # --- opening -------------------------------------------------------------------------
    def _open(self, timeout_s: float) -> Any:
        if self.driver == "apsw":
            # Lazy: apsw is the fallback driver, loaded only where the stdlib cannot load extensions.
            import apsw

            flags = (
                apsw.SQLITE_OPEN_READONLY
                if self.readonly
                else (apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE)
            )
            conn = apsw.Connection(str(self.path), flags=flags)
            conn.set_busy_timeout(int(timeout_s * 1000))
            conn.enable_load_extension(True)
            conn.load_extension(_vec_path())
            conn.enable_load_extension(False)
            return conn
        if self.driver == "pysqlite3":
            from pysqlite3 import dbapi2 as sqlite
        else:
            # Lazy: probing which SQLite driver can load sqlite-vec; only the one chosen stays loaded.
            import sqlite3 as sqlite
        uri = f"file:{self.path}?mode=ro" if self.readonly else f"file:{self.path}"
        conn = sqlite.connect(
            uri, uri=True, timeout=timeout_s, isolation_level=None, check_same_thread=False
        )
        conn.enable_load_extension(True)
        conn.load_extension(_vec_path())
        conn.enable_load_extension(False)
        return conn

    def _wrap(self, exc: BaseException) -> DatabaseError:
        if isinstance(exc, DatabaseError):
            return exc
        if _is_corruption(exc):
            return DatabaseCorruptError(
                f"{self.path} is damaged or not a photosearch database ({exc})"
            )
        if _is_locked(exc):
            return DatabaseLockedError(f"{self.path} is locked by another program ({exc})")
        text = str(exc)
        if "readonly" in text.lower() or "read-only" in text.lower():
            return DatabaseError(
                f"cannot write to {self.path}: the file or its folder is read-only"
            )
        if "disk" in text.lower() and "full" in text.lower():
            return DatabaseFullError(f"cannot write to {self.path}: the disk is full")
        if ("disk i/o error" in text.lower() or "sqlite-vec" in text) and _disk_nearly_full(
            self.path
        ):
            # A full disk shows as an I/O error when SQLite cannot grow its -shm/-wal files, and
            # sqlite-vec reports it as failing to insert a vector chunk.
            return DatabaseFullError(f"cannot write to {self.path}: the disk is full ({exc})")
        if "could not insert a new vector chunk" in text.lower():  # sqlite-vec hides SQLITE_FULL
            return DatabaseFullError(f"cannot write to {self.path}: the disk may be full ({exc})")
        if "unable to open" in text.lower() or "cantopen" in type(exc).__name__.lower():
            return DatabaseError(f"cannot open {self.path}: {exc}{_open_hint(self.path)}")
        return DatabaseError(f"database error in {self.path}: {exc}")

    # --- statements ----------------------------------------------------------------------
    def iter(self, sql: str, params: Params = ()) -> Iterator[tuple[Any, ...]]:
        try:
            cursor = self._conn.cursor()
            cursor.execute(sql, params)
            for row in cursor:
                yield tuple(row)
        except DatabaseError:
            raise
        except Exception as exc:
            raise self._wrap(exc) from exc

    def query(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return list(self.iter(sql, params))

    def query_one(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        for row in self.iter(sql, params):
            return row
        return None

    def scalar(self, sql: str, params: Params = (), default: Any = None) -> Any:
        row = self.query_one(sql, params)
        return default if row is None or row[0] is None else row[0]

    def execute(self, sql: str, params: Params = ()) -> None:
        try:
            cursor = self._conn.cursor()
            cursor.execute(sql, params)
            if self.driver == "apsw":
                for _ in cursor:  # apsw runs multi-statement SQL lazily
                    pass
        except Exception as exc:
            raise self._wrap(exc) from exc

    def executescript(self, sql: str) -> None:
        try:
            if self.driver == "apsw":
                self._conn.execute(sql)
            else:
                self._conn.executescript(sql)
        except Exception as exc:
            raise self._wrap(exc) from exc

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        try:
            self._conn.cursor().executemany(sql, rows)
        except Exception as exc:
            raise self._wrap(exc) from exc

    def last_insert_rowid(self) -> int:
        if self.driver == "apsw":
            return int(self._conn.last_insert_rowid())
        return int(self.scalar("SELECT last_insert_rowid()"))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""
        self.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            with contextlib.suppress(Exception):
                self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()


def chunked_in(
    db: Database, sql: str, values: Iterable[Any], size: int = IN_CHUNK
) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sql`` over any number of ``values``, run one chunk at a time: ``{marks}`` in
    ``sql`` stands for the chunk's placeholders (SQLite bounds the number of parameters)."""
    wanted = list(values)
    for start in range(0, len(wanted), size):
        chunk = wanted[start : start + size]
        yield from db.iter(sql.format(marks=",".join("?" * len(chunk))), chunk)
