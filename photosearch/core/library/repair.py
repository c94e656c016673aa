"""Recovering from a damaged library file: keep a copy aside, start a new one, re-add its folders.

The rules, in the order they are applied (each protects a library that still has value):

1. The library must not be open in any other photosearch process (its shared lock,
   :mod:`photosearch.core.library.locks`): a running ``watch`` would go on writing into the old file.
2. A library that passes ``PRAGMA integrity_check`` is refused unless ``force`` is given.
3. The old file (with its ``-wal`` and ``-shm``) is *copied* to a name no other file has
   (``library.db.damaged-YYYYmmdd-HHMMSS-ffffff``, created with ``O_EXCL``, a counter added on a
   clash) and synced before anything else changes.
4. The new library is built under a temporary name beside it and only then renamed over the old
   one (an atomic rename), so ``library.db`` is always either the old file or a whole new library,
   never a 0-byte file. When anything fails (a full disk), what was made is removed and the old
   file is left exactly as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from photosearch.core.library.db import (
    Database,
    DatabaseCorruptError,
    DatabaseError,
    DatabaseLockedError,
)
from photosearch.core.library.locks import FileLock, open_lock_path
from photosearch.core.library.private import FILE_MODE
from photosearch.core.library.store import Library

SIDE_FILES = ("-wal", "-shm")


class LibraryHealthyError(DatabaseError):
    """``repair`` of a library that passes the integrity check, without ``force``."""


@dataclass(frozen=True)
class RepairResult:
    kept: Path  # the copy of the old file (its -wal/-shm beside it, when it had them)
    folders: list[str]  # the folders re-added to the new library
    was_damaged: bool


def readable_folders(path: Path) -> list[str]:
    """Folder paths that can still be read from a damaged database (possibly none)."""
    with contextlib.suppress(Exception):
        db = Database(path, readonly=True)
        try:
            return [
                os.fsdecode(r[0]) if isinstance(r[0], bytes) else r[0]
                for r in db.query("SELECT path FROM folders")
            ]
        finally:
            db.close()
    return []


def integrity_problems(path: Path) -> list[str]:
    """``PRAGMA integrity_check`` of ``path``: [] when it is sound."""
    try:
        db = Database(path, readonly=True)
    except DatabaseCorruptError as exc:
        return [str(exc)]
    try:
        return [str(r[0]) for r in db.query("PRAGMA integrity_check(10)") if r[0] != "ok"]
    except DatabaseCorruptError as exc:
        return [str(exc)]
    finally:
        db.close()


def repair_library(path: Path, force: bool = False) -> RepairResult:
    """Set the library at ``path`` aside (as a copy) and put a new one with its folders in its
    place. Raises DatabaseLockedError while it is open elsewhere, LibraryHealthyError when it is
    sound and ``force`` is not given, DatabaseError when it cannot be done (the old file then
    stays as it was)."""
    if not path.exists():
        raise DatabaseError(f"there is no library at {path}: nothing to repair")
    lock = FileLock(open_lock_path(path))
    try:
        held = lock.try_acquire(shared=False)
    except OSError as exc:
        raise DatabaseError(f"cannot repair {path}: {exc.strerror or exc}") from exc
    if not held:
        raise DatabaseLockedError(
            f"{path} is open in another photosearch process (the app, `watch` or `index`): "
            "close it, then run repair again"
        )
    try:
        problems = integrity_problems(path)
        if not problems and not force:
            raise LibraryHealthyError(
                f"{path} passes the integrity check: nothing to repair (to start a fresh "
                "library anyway, keeping this one aside, use `photosearch repair --force`)"
            )
        folders = readable_folders(path)
        kept = _copy_aside(path)
        try:
            _replace_with_new_library(path, folders)
        except BaseException:
            _remove_with_side_files(kept)
            raise
    finally:
        lock.release()
    return RepairResult(kept, folders, bool(problems))


def _copy_aside(path: Path) -> Path:
    """Copy ``path`` and its side files to a new, unique name; returns it."""
    kept = _reserve_name(path)
    try:
        for suffix in ("", *SIDE_FILES):
            source = Path(f"{path}{suffix}")
            if suffix and not source.exists():
                continue
            _copy_file(source, Path(f"{kept}{suffix}"), exclusive=bool(suffix))
    except OSError as exc:
        _remove_with_side_files(kept)
        raise DatabaseError(_failure(path, exc)) from exc
    return kept


def _reserve_name(path: Path) -> Path:
    """``path.damaged-<stamp>``, created empty with O_EXCL so no other repair can take it; a
    counter is added when two repairs share the stamp."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    for n in range(1, 1000):
        candidate = path.with_name(f"{path.name}.damaged-{stamp}" + (f"-{n}" if n > 1 else ""))
        if any(Path(f"{candidate}{s}").exists() for s in SIDE_FILES):
            continue
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            continue
        except OSError as exc:
            raise DatabaseError(_failure(path, exc)) from exc
        os.close(fd)
        return candidate
    raise DatabaseError(f"cannot repair {path}: no free name for the copy beside it")


def _copy_file(source: Path, dest: Path, exclusive: bool) -> None:
    """Copy bytes and sync them; ``dest`` is 0600 (new, or the reserved empty file)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(dest, flags, FILE_MODE)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, FILE_MODE)
        with open(source, "rb") as src, os.fdopen(fd, "wb", closefd=False) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(fd)
    finally:
        os.close(fd)


def _replace_with_new_library(path: Path, folders: list[str]) -> None:
    """Build the new library under a temporary name, then rename it over ``path``."""
    temp = path.with_name(f"{path.name}.new-{os.getpid()}")
    _remove_with_side_files(temp)
    try:
        with Library(temp) as library:
            for folder in folders:
                library.add_folder(folder)
        _rename_over(temp, path)
    except (OSError, DatabaseError) as exc:
        raise DatabaseError(_failure(path, exc)) from exc
    finally:
        _remove_with_side_files(temp)
        with contextlib.suppress(OSError):
            os.remove(open_lock_path(temp))


def _rename_over(new: Path, path: Path) -> None:
    """Rename ``new`` over ``path``, parking the old file's -wal/-shm first (SQLite would apply
    an old journal to the new file); on failure they are put back. Renames need no space."""
    parked: list[tuple[Path, Path]] = []
    try:
        for suffix in SIDE_FILES:
            side = Path(f"{path}{suffix}")
            if side.exists():
                os.replace(side, Path(f"{new}.old{suffix}"))
                parked.append((Path(f"{new}.old{suffix}"), side))
        os.replace(new, path)
    except OSError:
        for moved, side in parked:
            os.replace(moved, side)
        raise
    for moved, _ in parked:
        os.remove(moved)


def _remove_with_side_files(path: Path) -> None:
    for suffix in ("", *SIDE_FILES):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{path}{suffix}")


def _failure(path: Path, exc: BaseException) -> str:
    full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
    full = full or "disk is full" in str(exc)
    why = "the disk is full" if full else str(getattr(exc, "strerror", None) or exc)
    return f"cannot repair {path}: {why}; the library was left as it was"
