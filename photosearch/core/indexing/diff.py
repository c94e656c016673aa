"""How the files found compare with their photo rows, and the writes that bring the rows in line.

Shared by the full and the targeted sync (:mod:`photosearch.core.indexing.sync`): a :class:`Diff` sorts each
file against its row (unchanged, changed, restored, new, vanished, unreadable), new files are paired
with vanished photos by size and content hash (moves keep their row and embedding), and everything
is written through the library's writer, recording the photo ids in a
:class:`~photosearch.core.indexing.changes.Changes`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from photosearch.core.indexing.changes import Changes
from photosearch.core.indexing.scanner import FileEntry, file_hash, hash_files
from photosearch.core.library.db import Database
from photosearch.core.library.store import Folder, Library, bump_seq, path_from_db, path_to_db

log = logging.getLogger(__name__)

REGISTER_CHUNK = 2000

ROW_COLUMNS = (
    "id, folder_id, path, size, mtime, status, content_hash, model_id, ctime, inode, error"
)


@dataclass
class PhotoRow:
    id: int
    folder_id: int
    path: str
    size: int
    mtime: float
    status: str
    content_hash: str | None
    model_id: str | None
    ctime: float | None = None  # None: unknown (a row from before ctime was stored)
    inode: int | None = None
    error: str | None = None

    @classmethod
    def from_db(cls, r: Sequence[Any]) -> PhotoRow:
        """From a row of :data:`ROW_COLUMNS`."""
        return cls(r[0], r[1], path_from_db(r[2]), *r[3:11])

    def matches(self, entry: FileEntry) -> bool:
        """The file on disk has the signature stored: taken as unchanged without reading it."""
        return (
            self.size == entry.size
            and abs(self.mtime - entry.mtime) <= 1e-6
            and self.ctime is not None
            and abs(self.ctime - entry.ctime) <= 1e-6
            and self.inode == entry.inode
        )

    def hash_can_tell(self, entry: FileEntry) -> bool:
        """A changed signature with the same size: the content hash says whether it changed."""
        return (
            self.size == entry.size
            and self.content_hash is not None
            and self.status in ("indexed", "missing", "offline")
        )


@dataclass
class Diff:
    """How the files found compare with their rows; written by :func:`apply_diff`."""

    new: list[tuple[int, FileEntry]] = field(default_factory=list)  # (folder id, file)
    changed: list[tuple[int, FileEntry]] = field(default_factory=list)  # (photo id, file)
    restored: list[tuple[int, FileEntry, str]] = field(default_factory=list)  # ..., status
    refreshed: list[tuple[int, FileEntry]] = field(default_factory=list)  # same content
    vanished: list[PhotoRow] = field(default_factory=list)
    offline: list[tuple[PhotoRow, str]] = field(default_factory=list)  # (row, reason)
    unchanged: int = 0
    rechecked: int = 0
    to_recheck: list[tuple[PhotoRow, FileEntry]] = field(default_factory=list)

    def sort(
        self,
        folder_id: int,
        row: PhotoRow | None,
        entry: FileEntry,
        model_id: str | None,
        retry_error: bool = False,
    ) -> None:
        """File one found file. Same-size files with a new signature wait for :meth:`recheck`."""
        if row is None:
            self.new.append((folder_id, entry))
        elif row.matches(entry):
            self._same_content(row, entry, model_id, retry_error, refresh=False)
        elif row.hash_can_tell(entry):
            self.to_recheck.append((row, entry))
        else:
            self.changed.append((row.id, entry))

    def recheck(self, model_id: str | None) -> None:
        """Hash the files whose signature changed but not their size: new content is re-embedded,
        the same content only gets its new signature."""
        todo, self.to_recheck = self.to_recheck, []
        digests = hash_files([entry.path for _, entry in todo])
        for (row, entry), digest in zip(todo, digests, strict=True):
            if digest is not None and digest == row.content_hash:
                self._same_content(row, entry, model_id, False, refresh=True)
            else:
                self.changed.append((row.id, entry))
        self.rechecked += len(todo)

    def _same_content(
        self, row: PhotoRow, entry: FileEntry, model_id: str | None, retry: bool, refresh: bool
    ) -> None:
        if row.status in ("missing", "offline"):
            self.restored.append((row.id, entry, settled_status(row, model_id)))
        elif (retry and row.status == "error") or (
            row.status == "indexed" and model_id and row.model_id != model_id
        ):
            self.changed.append((row.id, entry))
        elif refresh:
            self.refreshed.append((row.id, entry))
            self.unchanged += 1
        else:
            self.unchanged += 1

    def cannot_read(self, row: PhotoRow, reason: str) -> None:
        """The file is there but cannot be read now: offline with the reason, never missing."""
        if row.status != "missing" and (row.status != "offline" or row.error != reason):
            self.offline.append((row, reason))

    def record(self, changes: Changes, moves: list[tuple[int, FileEntry, PhotoRow]]) -> None:
        """Put the photo ids of this diff (new ones excepted: see :func:`register_diff`) and its
        counts into ``changes``."""
        changes.changed_ids.extend(photo_id for photo_id, _ in self.changed)
        changes.restored_ids.extend(photo_id for photo_id, _, _ in self.restored)
        changes.moved_ids.extend(row.id for _, _, row in moves)
        changes.removed_ids.extend(row.id for row in self.vanished)
        changes.offline_ids.extend(row.id for row, _ in self.offline if row.status != "offline")
        changes.unchanged += self.unchanged
        changes.rechecked += self.rechecked

    def any(self) -> bool:
        return bool(
            self.new
            or self.changed
            or self.restored
            or self.refreshed
            or self.vanished
            or self.offline
        )


def apply_diff(
    library: Library, db: Database, diff: Diff, model_id: str | None, changes: Changes
) -> None:
    """Pair new files with vanished photos (moves), then write everything into the library and
    the photo ids into ``changes``."""
    moves = find_moves(db, diff.new, diff.vanished)
    moved_new = {id(entry) for _, entry, _ in moves}
    diff.new = [(fid, e) for fid, e in diff.new if id(e) not in moved_new]
    moved_rows = {row.id for _, _, row in moves}
    diff.vanished = [row for row in diff.vanished if row.id not in moved_rows]
    if diff.any() or moves:
        changes.added_ids.extend(register_diff(library, diff, moves, model_id))
    diff.record(changes, moves)


def settled_status(row: PhotoRow, model_id: str | None) -> str:
    if row.model_id and (model_id is None or row.model_id == model_id):
        return "indexed"
    return "pending"


def find_moves(
    db: Database, new: list[tuple[int, FileEntry]], vanished: list[PhotoRow]
) -> list[tuple[int, FileEntry, PhotoRow]]:
    """Pair new files with vanished or missing photos of the same size and content hash."""
    if not new:
        return []
    candidates: dict[int, list[PhotoRow]] = {}
    for row in vanished:
        if row.content_hash:
            candidates.setdefault(row.size, []).append(row)
    sizes = {entry.size for _, entry in new}
    for r in db.iter(
        f"SELECT {ROW_COLUMNS} FROM photos WHERE status = 'missing' AND content_hash IS NOT NULL"
    ):
        if r[3] in sizes:
            candidates.setdefault(r[3], []).append(PhotoRow.from_db(r))
    moves = []
    for folder_id, entry in new:
        pool = candidates.get(entry.size)
        if not pool:
            continue
        try:
            digest = file_hash(entry.path)
        except OSError:
            continue
        match = next((row for row in pool if row.content_hash == digest), None)
        if match is not None:
            pool.remove(match)
            moves.append((folder_id, entry, match))
    return moves


def _signature(entry: FileEntry) -> tuple[int, float, float, int]:
    return entry.size, entry.mtime, entry.ctime, entry.inode


def register_diff(
    library: Library,
    diff: Diff,
    moves: list[tuple[int, FileEntry, PhotoRow]],
    model_id: str | None,
) -> list[int]:
    """Write the diff and the moves; returns the ids of the new photos."""
    now = time.time()
    added: list[int] = []

    def moves_and_updates(db: Database) -> None:
        seq = bump_seq(db)
        for folder_id, entry, row in moves:
            db.execute(
                "UPDATE photos SET folder_id = ?, path = ?, size = ?, mtime = ?, ctime = ?, "
                "inode = ?, status = ?, seq = ? WHERE id = ?",
                (
                    folder_id,
                    path_to_db(entry.path),
                    *_signature(entry),
                    settled_status(row, model_id),
                    seq,
                    row.id,
                ),
            )
        db.executemany(
            "UPDATE photos SET size = ?, mtime = ?, ctime = ?, inode = ?, status = 'pending', "
            "error = NULL, seq = ? WHERE id = ?",
            [(*_signature(e), seq, photo_id) for photo_id, e in diff.changed],
        )
        db.executemany(
            "UPDATE photos SET size = ?, mtime = ?, ctime = ?, inode = ?, status = ?, "
            "error = NULL, seq = ? WHERE id = ?",
            [(*_signature(e), status, seq, photo_id) for photo_id, e, status in diff.restored],
        )
        db.executemany(
            "UPDATE photos SET size = ?, mtime = ?, ctime = ?, inode = ?, seq = ? WHERE id = ?",
            [(*_signature(e), seq, photo_id) for photo_id, e in diff.refreshed],
        )
        db.executemany(
            "UPDATE photos SET status = 'missing', seq = ? WHERE id = ?",
            [(seq, row.id) for row in diff.vanished],
        )
        db.executemany(
            "UPDATE photos SET status = 'offline', error = ?, seq = ? WHERE id = ?",
            [(reason, seq, row.id) for row, reason in diff.offline],
        )

    library.write(moves_and_updates)
    new = diff.new
    for start in range(0, len(new), REGISTER_CHUNK):
        chunk = new[start : start + REGISTER_CHUNK]

        def insert(db: Database, chunk: list[tuple[int, FileEntry]] = chunk) -> list[int]:
            seq = bump_seq(db)
            db.executemany(
                "INSERT INTO photos(folder_id, path, size, mtime, ctime, inode, status, "
                "added_at, seq) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET folder_id = excluded.folder_id, "
                "size = excluded.size, mtime = excluded.mtime, ctime = excluded.ctime, "
                "inode = excluded.inode, status = 'pending', seq = excluded.seq",
                [(fid, path_to_db(e.path), *_signature(e), now, seq) for fid, e in chunk],
            )
            return [r[0] for r in db.query("SELECT id FROM photos WHERE seq = ?", (seq,))]

        added.extend(library.write(insert))
    return added


def set_offline(library: Library, folder: Folder, reason: str) -> list[int]:
    """Take a folder's photos offline with ``reason`` (kept, with their embeddings); returns
    their ids."""

    def offline(db: Database) -> list[int]:
        seq = bump_seq(db)
        db.execute("UPDATE folders SET online = 0 WHERE id = ?", (folder.id,))
        ids = [
            r[0]
            for r in db.query(
                "SELECT id FROM photos WHERE folder_id = ? AND status != 'missing'", (folder.id,)
            )
        ]
        db.execute(
            "UPDATE photos SET status = 'offline', error = ?, seq = ? "
            "WHERE folder_id = ? AND status != 'missing'",
            (reason, seq, folder.id),
        )
        return ids

    ids: list[int] = library.write(offline)
    log.warning("folder offline (%s): %s — its %d photos are kept", reason, folder.path, len(ids))
    return ids
