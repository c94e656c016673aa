"""The sync pipeline's reads and writes of photo rows (``indexing/sync.py`` and ``diff.py`` hold
its logic): the rows files are compared with, and the writes that bring them in line with the
disk. The writes run on the writer thread, inside the transaction of the caller, with the
``seq`` it bumped.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator, Sequence

from photosearch.core.library.db import Database, chunked_in
from photosearch.core.library.meta import bump_seq, note_deleted_photos
from photosearch.core.library.rows import (
    PHOTO_COLUMNS,
    FoundFile,
    Photo,
    path_from_db,
    path_to_db,
    signature,
)
from photosearch.core.library.vectors import delete_vectors


# --- reads -----------------------------------------------------------------------------------
def all_photos(db: Database) -> Iterator[Photo]:
    return (Photo.from_db(r) for r in db.iter(f"SELECT {PHOTO_COLUMNS} FROM photos"))


def photos_in_folder(db: Database, folder_id: int) -> list[Photo]:
    sql = f"SELECT {PHOTO_COLUMNS} FROM photos WHERE folder_id = ?"
    return [Photo.from_db(r) for r in db.query(sql, (folder_id,))]


def photos_by_path(db: Database, paths: Iterable[str]) -> dict[str, Photo]:
    """The rows of those of ``paths`` that have one, by path."""
    sql = f"SELECT {PHOTO_COLUMNS} FROM photos WHERE path IN ({{marks}})"
    rows = (Photo.from_db(r) for r in chunked_in(db, sql, (path_to_db(p) for p in paths)))
    return {row.path: row for row in rows}


def missing_photos_of_sizes(db: Database, sizes: Collection[int]) -> Iterator[Photo]:
    """Missing photos with a known content hash and one of these sizes: a new file may be one
    of them, moved."""
    sql = (
        f"SELECT {PHOTO_COLUMNS} FROM photos WHERE status = 'missing' AND content_hash IS NOT NULL"
    )
    return (Photo.from_db(r) for r in db.iter(sql) if r[3] in sizes)


def hashed_photos_of_sizes(db: Database, sizes: Iterable[int]) -> Iterator[Photo]:
    """Photos not missing nor offline, with a known content hash and one of these sizes."""
    sql = (
        f"SELECT {PHOTO_COLUMNS} FROM photos WHERE size IN ({{marks}}) "
        "AND status IN ('indexed', 'pending', 'error') AND content_hash IS NOT NULL"
    )
    return (Photo.from_db(r) for r in chunked_in(db, sql, sizes))


def known_photo_count(db: Database, folder_id: int) -> int:
    """How many photos of a folder are not missing."""
    sql = "SELECT COUNT(*) FROM photos WHERE folder_id = ? AND status != 'missing'"
    return int(db.scalar(sql, (folder_id,), default=0))


def _prefix_range(folder: str) -> tuple[str, str]:
    """SQL bounds (``path >= lo AND path < hi``) of the paths strictly inside ``folder``."""
    base = folder.rstrip(os.sep)
    return base + os.sep, base + chr(ord(os.sep) + 1)


def paths_under(db: Database, folder: str) -> list[str]:
    """Stored photo paths inside ``folder`` (any depth), whatever their status."""
    lo, hi = _prefix_range(folder)
    rows = db.query("SELECT path FROM photos WHERE path >= ? AND path < ?", (lo, hi))
    return [path_from_db(r[0]) for r in rows]


def photos_at_or_under(db: Database, path: str) -> list[tuple[int, str]]:
    """(id, path) of the photos, not missing, at ``path`` or inside it (a moved folder)."""
    lo, hi = _prefix_range(path)
    rows = db.query(
        "SELECT id, path FROM photos WHERE status != 'missing' AND "
        "(path = ? OR (path >= ? AND path < ?))",
        (path_to_db(path), lo, hi),
    )
    return [(int(photo_id), path_from_db(stored)) for photo_id, stored in rows]


def other_photo_at(db: Database, path: str, photo_id: int) -> int | None:
    """The id of another photo than ``photo_id`` stored at ``path``, if any."""
    sql = "SELECT id FROM photos WHERE path = ? AND id != ?"
    found = db.scalar(sql, (path_to_db(path), photo_id))
    return None if found is None else int(found)


# --- writes ----------------------------------------------------------------------------------
def insert_photos(
    db: Database, files: Sequence[tuple[int, FoundFile]], added_at: float
) -> list[int]:
    """Register ``(folder id, file)`` pending (a row already at the path is taken over); returns
    the ids of the rows written."""
    seq = bump_seq(db)
    db.executemany(
        "INSERT INTO photos(folder_id, path, size, mtime, ctime, inode, status, "
        "added_at, seq) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) "
        "ON CONFLICT(path) DO UPDATE SET folder_id = excluded.folder_id, "
        "size = excluded.size, mtime = excluded.mtime, ctime = excluded.ctime, "
        "inode = excluded.inode, status = 'pending', seq = excluded.seq",
        [(fid, path_to_db(f.path), *signature(f), added_at, seq) for fid, f in files],
    )
    return [r[0] for r in db.query("SELECT id FROM photos WHERE seq = ?", (seq,))]


def move_photos(db: Database, seq: int, moves: Iterable[tuple[int, int, FoundFile, str]]) -> None:
    """``(photo id, folder id, file, status)``: the photo's file is now ``file``."""
    db.executemany(
        "UPDATE photos SET folder_id = ?, path = ?, size = ?, mtime = ?, ctime = ?, "
        "inode = ?, status = ?, seq = ? WHERE id = ?",
        [
            (fid, path_to_db(f.path), *signature(f), status, seq, photo_id)
            for photo_id, fid, f, status in moves
        ],
    )


def mark_changed(db: Database, seq: int, changed: Iterable[tuple[int, FoundFile]]) -> None:
    """New content: back to pending with the file's signature."""
    db.executemany(
        "UPDATE photos SET size = ?, mtime = ?, ctime = ?, inode = ?, status = 'pending', "
        "error = NULL, seq = ? WHERE id = ?",
        [(*signature(f), seq, photo_id) for photo_id, f in changed],
    )


def mark_restored(db: Database, seq: int, restored: Iterable[tuple[int, FoundFile, str]]) -> None:
    """A missing or offline photo's file is back: ``status`` with the file's signature."""
    db.executemany(
        "UPDATE photos SET size = ?, mtime = ?, ctime = ?, inode = ?, status = ?, "
        "error = NULL, seq = ? WHERE id = ?",
        [(*signature(f), status, seq, photo_id) for photo_id, f, status in restored],
    )


def refresh_signatures(db: Database, seq: int, same: Iterable[tuple[int, FoundFile]]) -> None:
    """Same content under a new stat signature (a ``touch``): only the signature is stored."""
    db.executemany(
        "UPDATE photos SET size = ?, mtime = ?, ctime = ?, inode = ?, seq = ? WHERE id = ?",
        [(*signature(f), seq, photo_id) for photo_id, f in same],
    )


def mark_missing(db: Database, seq: int, photo_ids: Iterable[int]) -> None:
    db.executemany(
        "UPDATE photos SET status = 'missing', seq = ? WHERE id = ?",
        [(seq, int(photo_id)) for photo_id in photo_ids],
    )


def mark_offline(db: Database, seq: int, offline: Iterable[tuple[int, str]]) -> None:
    """``(photo id, reason)``: the file is there but cannot be read now."""
    db.executemany(
        "UPDATE photos SET status = 'offline', error = ?, seq = ? WHERE id = ?",
        [(reason, seq, photo_id) for photo_id, reason in offline],
    )


def take_folder_offline(db: Database, folder_id: int, reason: str) -> list[int]:
    """A folder and its photos (missing ones excepted) go offline; returns those photos' ids."""
    seq = bump_seq(db)
    db.execute("UPDATE folders SET online = 0 WHERE id = ?", (folder_id,))
    where = "WHERE folder_id = ? AND status != 'missing'"
    ids = [r[0] for r in db.query(f"SELECT id FROM photos {where}", (folder_id,))]
    db.execute(
        f"UPDATE photos SET status = 'offline', error = ?, seq = ? {where}",
        (reason, seq, folder_id),
    )
    return ids


def mark_folders_scanned(db: Database, folder_ids: Iterable[int], when: float) -> None:
    db.executemany(
        "UPDATE folders SET online = 1, last_scan = ? WHERE id = ?",
        [(when, folder_id) for folder_id in folder_ids],
    )


def set_photo_path(db: Database, seq: int, photo_id: int, path: str, folder_id: int) -> None:
    db.execute(
        "UPDATE photos SET path = ?, folder_id = ?, seq = ? WHERE id = ?",
        (path_to_db(path), folder_id, seq, photo_id),
    )


def delete_photo(db: Database, seq: int, photo_id: int) -> None:
    """Forget one photo outright, with its vectors."""
    delete_vectors(db, [photo_id])
    db.execute("DELETE FROM photos WHERE id = ?", (photo_id,))
    note_deleted_photos(db, seq)
