"""How the files found compare with their photo rows, and the writes that bring the rows in line.

Shared by the full and the targeted sync (:mod:`photosearch.core.indexing.sync`): a :class:`Diff` sorts each
file against its row (unchanged, changed, restored, new, vanished, unreadable), new files are paired
with vanished photos by size and content hash (moves keep their row and embedding), and everything
is written through the library's writer (the statements are in
:mod:`photosearch.core.library.photo_sync`), recording the photo ids in a
:class:`~photosearch.core.indexing.changes.Changes`.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field

from photosearch.core.indexing.changes import Changes
from photosearch.core.indexing.scanner import FileEntry, file_hash, hash_files
from photosearch.core.library import photo_sync
from photosearch.core.library.db import Database
from photosearch.core.library.meta import bump_seq
from photosearch.core.library.rows import Folder, Photo
from photosearch.core.library.store import Library

log = logging.getLogger(__name__)

REGISTER_CHUNK = 2000


@dataclass
class Diff:
    """How the files found compare with their rows; written by :func:`apply_diff`."""

    new: list[tuple[int, FileEntry]] = field(default_factory=list)  # (folder id, file)
    changed: list[tuple[int, FileEntry]] = field(default_factory=list)  # (photo id, file)
    restored: list[tuple[int, FileEntry, str]] = field(default_factory=list)  # ..., status
    refreshed: list[tuple[int, FileEntry]] = field(default_factory=list)  # same content
    vanished: list[Photo] = field(default_factory=list)
    offline: list[tuple[Photo, str]] = field(default_factory=list)  # (row, reason)
    unchanged: int = 0
    rechecked: int = 0
    to_recheck: list[tuple[Photo, FileEntry]] = field(default_factory=list)

    def sort(
        self,
        folder_id: int,
        row: Photo | None,
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
        self, row: Photo, entry: FileEntry, model_id: str | None, retry: bool, refresh: bool
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

    def cannot_read(self, row: Photo, reason: str) -> None:
        """The file is there but cannot be read now: offline with the reason, never missing."""
        if row.status != "missing" and (row.status != "offline" or row.error != reason):
            self.offline.append((row, reason))

    def record(self, changes: Changes, moves: list[tuple[int, FileEntry, Photo]]) -> None:
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


def settled_status(row: Photo, model_id: str | None) -> str:
    if row.model_id and (model_id is None or row.model_id == model_id):
        return "indexed"
    return "pending"


def find_moves(
    db: Database, new: list[tuple[int, FileEntry]], vanished: list[Photo]
) -> list[tuple[int, FileEntry, Photo]]:
    """Pair new files with vanished or missing photos of the same size and content hash."""
    if not new:
        return []
    candidates: dict[int, list[Photo]] = {}
    sizes = {entry.size for _, entry in new}
    missing = photo_sync.missing_photos_of_sizes(db, sizes)
    for row in itertools.chain((r for r in vanished if r.content_hash), missing):
        candidates.setdefault(row.size, []).append(row)
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


def register_diff(
    library: Library,
    diff: Diff,
    moves: list[tuple[int, FileEntry, Photo]],
    model_id: str | None,
) -> list[int]:
    """Write the diff and the moves; returns the ids of the new photos."""
    now = time.time()

    def moves_and_updates(db: Database) -> None:
        seq = bump_seq(db)
        photo_sync.move_photos(
            db,
            seq,
            [(row.id, fid, entry, settled_status(row, model_id)) for fid, entry, row in moves],
        )
        photo_sync.mark_changed(db, seq, diff.changed)
        photo_sync.mark_restored(db, seq, diff.restored)
        photo_sync.refresh_signatures(db, seq, diff.refreshed)
        photo_sync.mark_missing(db, seq, [row.id for row in diff.vanished])
        photo_sync.mark_offline(db, seq, [(row.id, reason) for row, reason in diff.offline])

    library.write(moves_and_updates)
    added: list[int] = []
    for start in range(0, len(diff.new), REGISTER_CHUNK):
        chunk = diff.new[start : start + REGISTER_CHUNK]
        added.extend(
            library.write(lambda db, chunk=chunk: photo_sync.insert_photos(db, chunk, now))
        )
    return added


def set_offline(library: Library, folder: Folder, reason: str) -> list[int]:
    """Take a folder's photos offline with ``reason`` (kept, with their embeddings); returns
    their ids."""
    ids: list[int] = library.write(lambda db: photo_sync.take_folder_offline(db, folder.id, reason))
    log.warning("folder offline (%s): %s — its %d photos are kept", reason, folder.path, len(ids))
    return ids
