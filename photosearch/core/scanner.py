"""Pass one of indexing: walk the watched folders and bring the photo rows in line with the disk.

Cheap by design: only ``stat`` results are compared (size + mtime), so an unchanged library of
100k photos is checked in seconds. Files are read only to confirm a move (same size as a vanished
photo, then same content hash), which keeps the moved photo's embedding.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from photosearch.core.db import Database
from photosearch.core.imageio import is_supported
from photosearch.core.store import Folder, Library, bump_seq, path_from_db, path_to_db

log = logging.getLogger(__name__)

# Folders no photo library wants: OS bookkeeping, trash, thumbnails of NAS boxes.
SKIPPED_DIRS = frozenset(
    {
        "$RECYCLE.BIN",
        "System Volume Information",
        "lost+found",
        "@eaDir",
        "#recycle",
        "__MACOSX",
        "node_modules",
    }
)
HASH_CHUNK = 1 << 20
REGISTER_CHUNK = 2000


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    mtime: float


@dataclass
class ScanResult:
    added: int = 0
    updated: int = 0
    moved: int = 0
    missing: int = 0
    offline: int = 0
    restored: int = 0
    unchanged: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, message)


def is_hidden(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_DIRS


def walk_photos(root: str, problems: list[tuple[str, str]] | None = None) -> Iterator[FileEntry]:
    """Yield the supported image files under ``root``.

    Hidden and system folders are skipped; symlinks to folders are followed once (loops are
    detected by device and inode); FIFOs, sockets and devices are never opened.
    """
    problems = problems if problems is not None else []
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            info = os.stat(folder)
        except OSError as exc:
            problems.append((folder, f"cannot read folder: {exc.strerror or exc}"))
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen:
            continue  # a symlink loop, or a second link to a folder already walked
        seen.add(key)
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            problems.append((folder, f"cannot read folder: {exc.strerror or exc}"))
            continue
        subfolders = []
        for entry in entries:
            if is_hidden(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    subfolders.append(entry.path)
                    continue
                if not is_supported(entry.name):
                    continue
                st = entry.stat(follow_symlinks=True)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    problems.append((entry.path, "symbolic link loop"))
                elif exc.errno != errno.ENOENT:
                    problems.append((entry.path, f"cannot read: {exc.strerror or exc}"))
                elif entry.is_symlink():
                    problems.append((entry.path, "broken symbolic link (its target is missing)"))
                continue
            if not stat.S_ISREG(st.st_mode):
                problems.append((entry.path, "not a regular file"))
                continue
            yield FileEntry(entry.path, st.st_size, st.st_mtime)
        stack.extend(sorted(subfolders, reverse=True))


def file_hash(path: str) -> str:
    """BLAKE2b-128 of the whole file: the identity used to recognise moved photos."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def bytes_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def folder_available(folder: Folder) -> bool:
    """A watched folder whose root is gone (an unmounted drive) is offline, not emptied."""
    return os.path.isdir(folder.path)


def looks_unmounted(folder: Folder, db: Database) -> bool:
    """An empty root where photos were: most likely a drive's mount point left behind.

    Its photos go offline rather than missing, so nothing is forgotten because a drive was not
    plugged in. (Deleting every photo of a folder reads the same; ``photosearch folders remove``
    forgets a folder for good.)
    """
    try:
        if any(True for _ in os.scandir(folder.path)):
            return False
    except OSError:
        return True
    known = db.scalar(
        "SELECT COUNT(*) FROM photos WHERE folder_id = ? AND status != 'missing'", (folder.id,)
    )
    return bool(known)


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


def sync_folders(
    library: Library,
    folders: list[Folder] | None = None,
    model_id: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ScanResult:
    """Register new files, mark vanished ones missing, detect moves and changes.

    ``model_id`` is the encoder now in use: photos whose stored vectors came from another model
    are put back to pending. Walks every folder before changing anything, so that a photo moved
    from one watched folder to another is seen as a move, not a delete and an add.
    """
    folders = folders if folders is not None else library.folders()
    result = ScanResult()
    db = library.reader()
    found: dict[int, dict[str, FileEntry]] = {}
    for folder in folders:
        if not folder_available(folder) or looks_unmounted(folder, db):
            result.offline += _set_offline(library, folder)
            continue
        entries: dict[str, FileEntry] = {}
        for entry in walk_photos(folder.path, result.problems):
            entries[entry.path] = entry
            if on_progress and len(entries) % 500 == 0:
                on_progress(sum(len(v) for v in found.values()) + len(entries))
        found[folder.id] = entries

    rows_by_folder: dict[int, dict[str, PhotoRow]] = {fid: {} for fid in found}
    for r in db.iter(
        "SELECT id, folder_id, path, size, mtime, status, content_hash, model_id FROM photos"
    ):
        stored = PhotoRow(r[0], r[1], path_from_db(r[2]), r[3], r[4], r[5], r[6], r[7])
        if stored.folder_id in rows_by_folder:
            rows_by_folder[stored.folder_id][stored.path] = stored

    new: list[tuple[int, FileEntry]] = []
    changed: list[tuple[int, FileEntry]] = []
    restored: list[tuple[int, FileEntry, str]] = []
    vanished: list[PhotoRow] = []
    for folder_id, entries in found.items():
        rows = rows_by_folder[folder_id]
        for path, entry in entries.items():
            row = rows.get(path)
            if row is None:
                new.append((folder_id, entry))
            elif row.size != entry.size or abs(row.mtime - entry.mtime) > 1e-6:
                changed.append((row.id, entry))
            elif row.status in ("missing", "offline"):
                restored.append((row.id, entry, settled_status(row, model_id)))
            elif row.status == "indexed" and model_id and row.model_id != model_id:
                changed.append((row.id, entry))
            else:
                result.unchanged += 1
        vanished.extend(
            row for path, row in rows.items() if path not in entries and row.status != "missing"
        )

    moves = find_moves(db, new, vanished)
    moved_new = {id(entry) for _, entry, _ in moves}
    new = [(fid, e) for fid, e in new if id(e) not in moved_new]
    moved_rows = {row.id for _, _, row in moves}
    vanished = [row for row in vanished if row.id not in moved_rows]

    register_changes(library, new, changed, restored, vanished, moves, model_id)
    result.added = len(new)
    result.updated = len(changed)
    result.restored = len(restored)
    result.moved = len(moves)
    result.missing = len(vanished)
    now = time.time()
    library.write(
        lambda w: w.executemany(
            "UPDATE folders SET online = 1, last_scan = ? WHERE id = ?",
            [(now, fid) for fid in found],
        )
    )
    for path, message in result.problems:
        log.warning("skipped %s: %s", path, message)
    return result


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
        "SELECT id, folder_id, path, size, mtime, status, content_hash, model_id FROM photos "
        "WHERE status = 'missing' AND content_hash IS NOT NULL"
    ):
        if r[3] in sizes:
            candidates.setdefault(r[3], []).append(
                PhotoRow(r[0], r[1], path_from_db(r[2]), r[3], r[4], r[5], r[6], r[7])
            )
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


def register_changes(
    library: Library,
    new: list[tuple[int, FileEntry]],
    changed: list[tuple[int, FileEntry]],
    restored: list[tuple[int, FileEntry, str]],
    vanished: list[PhotoRow],
    moves: list[tuple[int, FileEntry, PhotoRow]],
    model_id: str | None,
) -> None:
    now = time.time()

    def moves_and_updates(db: Database) -> None:
        seq = bump_seq(db)
        for folder_id, entry, row in moves:
            status = settled_status(row, model_id)
            db.execute(
                "UPDATE photos SET folder_id = ?, path = ?, mtime = ?, status = ?, seq = ? "
                "WHERE id = ?",
                (folder_id, path_to_db(entry.path), entry.mtime, status, seq, row.id),
            )
        db.executemany(
            "UPDATE photos SET size = ?, mtime = ?, status = 'pending', error = NULL, seq = ? "
            "WHERE id = ?",
            [(e.size, e.mtime, seq, photo_id) for photo_id, e in changed],
        )
        db.executemany(
            "UPDATE photos SET status = ?, seq = ? WHERE id = ?",
            [(status, seq, photo_id) for photo_id, _, status in restored],
        )
        db.executemany(
            "UPDATE photos SET status = 'missing', seq = ? WHERE id = ?",
            [(seq, row.id) for row in vanished],
        )

    library.write(moves_and_updates)
    for start in range(0, len(new), REGISTER_CHUNK):
        chunk = new[start : start + REGISTER_CHUNK]

        def insert(db: Database, chunk: list[tuple[int, FileEntry]] = chunk) -> None:
            seq = bump_seq(db)
            db.executemany(
                "INSERT INTO photos(folder_id, path, size, mtime, status, added_at, seq) "
                "VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT(path) DO UPDATE SET "
                "folder_id = excluded.folder_id, size = excluded.size, mtime = excluded.mtime, "
                "status = 'pending', seq = excluded.seq",
                [(fid, path_to_db(e.path), e.size, e.mtime, now, seq) for fid, e in chunk],
            )

        library.write(insert)


def _set_offline(library: Library, folder: Folder) -> int:
    def offline(db: Database) -> int:
        seq = bump_seq(db)
        db.execute("UPDATE folders SET online = 0 WHERE id = ?", (folder.id,))
        n = int(
            db.scalar(
                "SELECT COUNT(*) FROM photos WHERE folder_id = ? AND status != 'missing'",
                (folder.id,),
            )
        )
        db.execute(
            "UPDATE photos SET status = 'offline', seq = ? WHERE folder_id = ? AND status != 'missing'",
            (seq, folder.id),
        )
        return n

    count: int = library.write(offline)
    log.warning("folder offline (not found): %s — its %d photos are kept", folder.path, count)
    return count
