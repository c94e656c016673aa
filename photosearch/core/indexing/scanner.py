"""Pass one of indexing: walk the watched folders and bring the photo rows in line with the disk.

Cheap by design: a file whose stat signature (size, mtime, ctime, inode) equals its row's is not
read, so an unchanged library of 100k photos is checked in seconds. A file whose signature
differs but whose size does not is re-hashed: new content goes back to pending (re-embedded),
the same content only gets its new signature (a ``touch``, a ``chmod``, a restore of identical
bytes). Files are otherwise read only to confirm a move (same size as a vanished photo, then same
content hash), which keeps the moved photo's embedding.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from photosearch.core.library.db import Database
from photosearch.core.library.store import (
    PHOTO_COLUMNS,
    Folder,
    Library,
    Photo,
    bump_seq,
    path_to_db,
    photo_from_row,
)
from photosearch.core.vision.imageio import is_supported

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
# Kernel views, never photos: not walked, whatever a symbolic link or a root says.
SYSTEM_TREES = ("/proc", "/sys", "/dev")
HASH_CHUNK = 1 << 20
HASH_WORKERS = 4
REGISTER_CHUNK = 2000


@dataclass(frozen=True)
class FileEntry:
    """A photo file as found on disk: its path and stat signature."""

    path: str
    size: int
    mtime: float
    ctime: float
    inode: int

    @classmethod
    def from_stat(cls, path: str, st: os.stat_result) -> FileEntry:
        return cls(path, st.st_size, st.st_mtime, st.st_ctime, st.st_ino)


@dataclass
class ScanResult:
    added: int = 0
    updated: int = 0
    moved: int = 0
    missing: int = 0
    offline: int = 0
    restored: int = 0
    unchanged: int = 0
    rechecked: int = 0  # files re-hashed because their stat signature changed
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, message)


def is_hidden(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_DIRS


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def is_system_path(real: str) -> bool:
    return os.name == "posix" and any(_inside(real, tree) for tree in SYSTEM_TREES)


class LinkPolicy:
    """Which symbolic links a walk follows, given the watched roots.

    A link is followed only when its target (fully resolved) lies inside a watched root and
    would not be reached under its own path anyway (it sits in a hidden or system folder of the
    root). A link to a folder or photo that is walked under its own path is an alias: skipped,
    so each photo is indexed once, under its real path. A link leading outside every root, or
    into ``/proc``, ``/sys`` or ``/dev``, is never followed, and reported.
    """

    def __init__(self, roots: Iterable[str]) -> None:
        self.roots = [os.path.realpath(r) for r in roots]

    def verdict(self, path: str, is_dir: bool) -> str | None:
        """None: follow the link at ``path``; "": skip it quietly (an alias); else: why not."""
        real = os.path.realpath(path)
        if is_system_path(real):
            return f"symbolic link into {real} (system folders are never followed)"
        inside = [root for root in self.roots if _inside(real, root)]
        if not inside:
            return "symbolic link leads outside the watched folders (not followed)"
        if any(self._walked_anyway(real, root, is_dir) for root in inside):
            return ""
        return None

    @staticmethod
    def _walked_anyway(real: str, root: str, is_dir: bool) -> bool:
        rel = os.path.relpath(real, root)
        parts = [] if rel == os.curdir else rel.split(os.sep)
        if any(is_hidden(part) for part in parts):
            return False
        return is_dir or is_supported(real)


def walk_photos(
    root: str,
    problems: list[tuple[str, str]] | None = None,
    roots: Sequence[str] | None = None,
    unreadable: list[tuple[str, str]] | None = None,
) -> Iterator[FileEntry]:
    """Yield the supported image files under ``root``.

    Hidden and system folders are skipped; symbolic links are followed only as
    :class:`LinkPolicy` allows for the watched ``roots`` (default: ``root`` alone), and a folder
    reached twice (a loop) is walked once (by device and inode); FIFOs, sockets and devices are
    never opened. Folders and files that exist but cannot be read (permissions, I/O errors) are
    added to ``unreadable`` as (path, reason): their photos are offline, not gone.
    """
    problems = problems if problems is not None else []
    unreadable = unreadable if unreadable is not None else []
    links = LinkPolicy(roots if roots is not None else [root])
    start = _start_folder(root, roots, links, problems)
    if start is None:
        return
    seen: set[tuple[int, int]] = set()
    stack = [start]
    while stack:
        folder, real = stack.pop()
        if is_system_path(real):
            continue
        try:
            info = os.stat(folder)
            key = (info.st_dev, info.st_ino)
            if key in seen:
                continue  # a symlink loop, or a second link to a folder already walked
            seen.add(key)
            entries = list(os.scandir(folder))
        except OSError as exc:
            _cannot_read(folder, "cannot read folder", exc, problems, unreadable)
            continue
        subfolders = []
        for entry in entries:
            if is_hidden(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    if not entry.is_symlink():
                        subfolders.append((entry.path, os.path.join(real, entry.name)))
                    elif _follow(entry.path, True, links, problems):
                        subfolders.append((entry.path, os.path.realpath(entry.path)))
                    continue
                if not is_supported(entry.name):
                    continue
                st = entry.stat(follow_symlinks=True)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    problems.append((entry.path, "symbolic link loop"))
                elif exc.errno != errno.ENOENT:
                    _cannot_read(entry.path, "cannot read", exc, problems, unreadable)
                elif entry.is_symlink():
                    problems.append((entry.path, "broken symbolic link (its target is missing)"))
                continue
            if not stat.S_ISREG(st.st_mode):
                problems.append((entry.path, "not a regular file"))
                continue
            if entry.is_symlink() and not _follow(entry.path, False, links, problems):
                continue
            yield FileEntry(entry.path, st.st_size, st.st_mtime, st.st_ctime, _inode(entry, st))
        stack.extend(sorted(subfolders, reverse=True))


def _start_folder(
    root: str,
    roots: Sequence[str] | None,
    links: LinkPolicy,
    problems: list[tuple[str, str]],
) -> tuple[str, str] | None:
    """``root`` and its real path, or None when it is reached through a link not to follow
    (a folder event of the watcher starts a walk below a root)."""
    real = os.path.realpath(root)
    if roots is None or root in roots:
        return root, real
    owner = next((r for r in roots if _inside(root, r)), None)
    if owner is not None:
        nominal = os.path.join(os.path.realpath(owner), os.path.relpath(root, owner))
        if nominal != real and not _follow(root, True, links, problems):
            return None
    return root, real


def _follow(path: str, is_dir: bool, links: LinkPolicy, problems: list[tuple[str, str]]) -> bool:
    verdict = links.verdict(path, is_dir)
    if verdict:
        problems.append((path, verdict))
    elif verdict == "":
        log.debug("not following %s: indexed under its own path", path)
    return verdict is None


def _cannot_read(
    path: str,
    what: str,
    exc: OSError,
    problems: list[tuple[str, str]],
    unreadable: list[tuple[str, str]],
) -> None:
    message = f"{what}: {exc.strerror or exc}"
    problems.append((path, message))
    if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
        unreadable.append((path, message))  # there, but not readable now: keep its photos


def _inode(entry: os.DirEntry[str], st: os.stat_result) -> int:
    # DirEntry.stat() leaves st_ino 0 on Windows; entry.inode() fetches it there.
    return st.st_ino or entry.inode()


def file_hash(path: str) -> str:
    """BLAKE2b-128 of the whole file: the identity used to recognise moved photos."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def bytes_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def hash_files(paths: Sequence[str]) -> list[str | None]:
    """:func:`file_hash` of each path (None where it cannot be read), a few files at a time."""

    def one(path: str) -> str | None:
        try:
            return file_hash(path)
        except OSError:
            return None

    if len(paths) < 2:
        return [one(p) for p in paths]
    with ThreadPoolExecutor(HASH_WORKERS, thread_name_prefix="photosearch-hash") as pool:
        return list(pool.map(one, paths))


def folder_problem(path: str) -> str | None:
    """Why a watched folder cannot be read now ("folder not found", "cannot read folder: ..."),
    or None when it can."""
    try:
        with os.scandir(path):
            return None
    except OSError as exc:
        return _folder_error(exc)


def _folder_error(exc: OSError) -> str:
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return "folder not found"
    return f"cannot read folder: {exc.strerror or exc}"


def folder_available(folder: Folder) -> bool:
    """A watched folder whose root is gone (an unmounted drive) or unreadable is offline, not
    emptied."""
    return folder_problem(folder.path) is None


def offline_reason(folder: Folder, db: Database) -> str | None:
    """Why a watched folder's photos must go offline rather than be scanned, or None.

    Its root is missing (an unplugged drive), unreadable, or empty where photos were: most likely
    a drive's mount point left behind. Nothing is forgotten because a drive was not plugged in.
    (Deleting every photo of a folder reads the same; ``photosearch folders remove`` forgets a
    folder for good.)
    """
    try:
        with os.scandir(folder.path) as entries:
            if next(entries, None) is not None:
                return None
    except OSError as exc:
        return _folder_error(exc)
    known = db.scalar(
        "SELECT COUNT(*) FROM photos WHERE folder_id = ? AND status != 'missing'", (folder.id,)
    )
    return "folder is empty (a drive not mounted?)" if known else None


@dataclass
class Changes:
    """How the files found compare with their rows; written by :func:`register_changes`."""

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

    def count_into(self, result: ScanResult, moves: int) -> None:
        result.added, result.updated = len(self.new), len(self.changed)
        result.restored, result.moved = len(self.restored), moves
        result.missing = len(self.vanished)
        result.offline += sum(1 for row, _ in self.offline if row.status != "offline")
        result.unchanged += self.unchanged
        result.rechecked += self.rechecked

    def any(self) -> bool:
        return bool(
            self.new
            or self.changed
            or self.restored
            or self.refreshed
            or self.vanished
            or self.offline
        )


def sync_folders(
    library: Library,
    folders: list[Folder] | None = None,
    model_id: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ScanResult:
    """Register new files, mark vanished ones missing, detect moves and changes.

    ``model_id`` is the encoder now in use: photos whose stored vectors came from another model
    are put back to pending. Walks every folder before changing anything, so that a photo moved
    from one watched folder to another is seen as a move, not a delete and an add. Photos under
    a folder that cannot be read go offline with the reason, never missing.
    """
    folders = folders if folders is not None else library.folders()
    roots = [f.path for f in library.folders()]
    result = ScanResult()
    db = library.reader()
    found: dict[int, dict[str, FileEntry]] = {}
    unreadable: list[tuple[str, str]] = []
    for folder in folders:
        reason = offline_reason(folder, db)
        if reason is not None:
            result.offline += _set_offline(library, folder, reason)
            continue
        entries: dict[str, FileEntry] = {}
        for entry in walk_photos(folder.path, result.problems, roots, unreadable):
            entries[entry.path] = entry
            if on_progress and len(entries) % 500 == 0:
                on_progress(sum(len(v) for v in found.values()) + len(entries))
        found[folder.id] = entries

    rows_by_folder: dict[int, dict[str, Photo]] = {fid: {} for fid in found}
    for r in db.iter(f"SELECT {PHOTO_COLUMNS} FROM photos"):
        stored = photo_from_row(r)
        if stored.folder_id in rows_by_folder:
            rows_by_folder[stored.folder_id][stored.path] = stored

    changes = Changes()
    for folder_id, entries in found.items():
        rows = rows_by_folder[folder_id]
        for path, entry in entries.items():
            changes.sort(folder_id, rows.get(path), entry, model_id)
        for path, row in rows.items():
            if path in entries or row.status == "missing":
                continue
            reason = _unreadable_reason(path, unreadable)
            if reason is None:
                changes.vanished.append(row)
            else:
                changes.cannot_read(row, reason)
    changes.recheck(model_id)

    moves = apply_changes(library, db, changes, model_id)
    changes.count_into(result, moves)
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


def _unreadable_reason(path: str, unreadable: list[tuple[str, str]]) -> str | None:
    """The reason a photo cannot be seen, when it is at or below an unreadable path."""
    return next((reason for place, reason in unreadable if _inside(path, place)), None)


def apply_changes(library: Library, db: Database, changes: Changes, model_id: str | None) -> int:
    """Pair new files with vanished photos (moves), then write everything; returns the moves."""
    moves = find_moves(db, changes.new, changes.vanished)
    moved_new = {id(entry) for _, entry, _ in moves}
    changes.new = [(fid, e) for fid, e in changes.new if id(e) not in moved_new]
    moved_rows = {row.id for _, _, row in moves}
    changes.vanished = [row for row in changes.vanished if row.id not in moved_rows]
    if changes.any() or moves:
        register_changes(library, changes, moves, model_id)
    return len(moves)


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
    for row in vanished:
        if row.content_hash:
            candidates.setdefault(row.size, []).append(row)
    sizes = {entry.size for _, entry in new}
    for r in db.iter(
        f"SELECT {PHOTO_COLUMNS} FROM photos WHERE status = 'missing' AND content_hash IS NOT NULL"
    ):
        if r[3] in sizes:
            candidates.setdefault(r[3], []).append(photo_from_row(r))
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


def register_changes(
    library: Library,
    changes: Changes,
    moves: list[tuple[int, FileEntry, Photo]],
    model_id: str | None,
) -> None:
    now = time.time()

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
            [(*_signature(e), seq, photo_id) for photo_id, e in changes.changed],
        )
        db.executemany(
            "UPDATE photos SET size = ?, mtime = ?, ctime = ?, inode = ?, status = ?, "
            "error = NULL, seq = ? WHERE id = ?",
            [(*_signature(e), status, seq, photo_id) for photo_id, e, status in changes.restored],
        )
        db.executemany(
            "UPDATE photos SET size = ?, mtime = ?, ctime = ?, inode = ?, seq = ? WHERE id = ?",
            [(*_signature(e), seq, photo_id) for photo_id, e in changes.refreshed],
        )
        db.executemany(
            "UPDATE photos SET status = 'missing', seq = ? WHERE id = ?",
            [(seq, row.id) for row in changes.vanished],
        )
        db.executemany(
            "UPDATE photos SET status = 'offline', error = ?, seq = ? WHERE id = ?",
            [(reason, seq, row.id) for row, reason in changes.offline],
        )

    library.write(moves_and_updates)
    new = changes.new
    for start in range(0, len(new), REGISTER_CHUNK):
        chunk = new[start : start + REGISTER_CHUNK]

        def insert(db: Database, chunk: list[tuple[int, FileEntry]] = chunk) -> None:
            seq = bump_seq(db)
            db.executemany(
                "INSERT INTO photos(folder_id, path, size, mtime, ctime, inode, status, "
                "added_at, seq) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET folder_id = excluded.folder_id, "
                "size = excluded.size, mtime = excluded.mtime, ctime = excluded.ctime, "
                "inode = excluded.inode, status = 'pending', seq = excluded.seq",
                [(fid, path_to_db(e.path), *_signature(e), now, seq) for fid, e in chunk],
            )

        library.write(insert)


def _set_offline(library: Library, folder: Folder, reason: str) -> int:
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
            "UPDATE photos SET status = 'offline', error = ?, seq = ? "
            "WHERE folder_id = ? AND status != 'missing'",
            (reason, seq, folder.id),
        )
        return n

    count: int = library.write(offline)
    log.warning("folder offline (%s): %s — its %d photos are kept", reason, folder.path, count)
    return count
