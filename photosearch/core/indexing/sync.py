"""Bring the photo rows in line with the disk: the one sync pipeline, full or targeted.

* :func:`sync_folders`: walk whole folders (``photosearch index``, a rescan, the watcher's start);
* :func:`sync_paths`: just these files (what the watcher's events name);
* :func:`apply_moves`: renames and moves the observer reported, as path updates.

All three compare files with their rows the same way (:class:`~photosearch.core.indexing.diff.Diff`):
cheap by design, a file whose stat signature (size, mtime, ctime, inode) equals its row's is not
read, so an unchanged library of 100k photos is checked in seconds. A file whose signature
differs but whose size does not is re-hashed: new content goes back to pending (re-embedded), the
same content only gets its new signature (a ``touch``, a ``chmod``, a restore of identical
bytes). Files are otherwise read only to confirm a move (same size as a vanished photo, then
same content hash), which keeps the moved photo's embedding. Photos of a folder that cannot be
read go offline, never missing. Each returns a :class:`~photosearch.core.indexing.changes.Changes` with
the ids of the photos concerned.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from photosearch.core.indexing.changes import Changes
from photosearch.core.indexing.diff import Diff, apply_diff, set_offline
from photosearch.core.indexing.scanner import (
    FileEntry,
    LinkPolicy,
    folder_available,
    inside,
    is_hidden,
    offline_reason,
    walk_photos,
)
from photosearch.core.library import photo_sync
from photosearch.core.library.db import Database
from photosearch.core.library.meta import bump_seq
from photosearch.core.library.rows import Folder, Photo
from photosearch.core.library.store import Library
from photosearch.core.vision.imageio import is_supported

log = logging.getLogger(__name__)


# --- full sync ----------------------------------------------------------------------------------
def sync_folders(
    library: Library,
    folders: list[Folder] | None = None,
    model_id: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Changes:
    """Register new files, mark vanished ones missing, detect moves and changes.

    ``model_id`` is the encoder now in use: photos whose stored vectors came from another model
    are put back to pending. Walks every folder before changing anything, so that a photo moved
    from one watched folder to another is seen as a move, not a delete and an add. Photos under
    a folder that cannot be read go offline with the reason, never missing.
    """
    folders = folders if folders is not None else library.folders()
    result = Changes("scan")
    db = library.reader()
    found, unreadable = _walk_folders(library, folders, result, on_progress)
    diff = _folders_diff(db, found, unreadable, model_id)
    apply_diff(library, db, diff, model_id, result)
    now = time.time()
    library.write(lambda w: photo_sync.mark_folders_scanned(w, found, now))
    for path, message in result.problems:
        log.warning("skipped %s: %s", path, message)
    result.seq = library.seq()
    return result


def _walk_folders(
    library: Library,
    folders: list[Folder],
    result: Changes,
    on_progress: Callable[[int], None] | None,
) -> tuple[dict[int, dict[str, FileEntry]], list[tuple[str, str]]]:
    """The photo files of each folder that can be read, by folder id and path, and the places
    that could not be read, with the reason. A folder that cannot be read at all goes offline."""
    roots = [f.path for f in library.folders()]
    found: dict[int, dict[str, FileEntry]] = {}
    unreadable: list[tuple[str, str]] = []
    for folder in folders:
        reason = offline_reason(folder, library.reader())
        if reason is not None:
            result.offline_ids.extend(set_offline(library, folder, reason))
            continue
        entries: dict[str, FileEntry] = {}
        for entry in walk_photos(folder.path, result.problems, roots, unreadable):
            entries[entry.path] = entry
            if on_progress and len(entries) % 500 == 0:
                on_progress(sum(len(v) for v in found.values()) + len(entries))
        found[folder.id] = entries
    return found, unreadable


def _folders_diff(
    db: Database,
    found: dict[int, dict[str, FileEntry]],
    unreadable: list[tuple[str, str]],
    model_id: str | None,
) -> Diff:
    """Each walked folder's files against its rows."""
    rows_by_folder: dict[int, dict[str, Photo]] = {fid: {} for fid in found}
    for stored in photo_sync.all_photos(db):
        if stored.folder_id in rows_by_folder:
            rows_by_folder[stored.folder_id][stored.path] = stored
    diff = Diff()
    for folder_id, entries in found.items():
        rows = rows_by_folder[folder_id]
        for path, entry in entries.items():
            diff.sort(folder_id, rows.get(path), entry, model_id)
        for path, row in rows.items():
            if path in entries or row.status == "missing":
                continue
            reason = _unreadable_reason(path, unreadable)
            if reason is None:
                diff.vanished.append(row)
            else:
                diff.cannot_read(row, reason)
    diff.recheck(model_id)
    return diff


def _unreadable_reason(path: str, unreadable: list[tuple[str, str]]) -> str | None:
    """The reason a photo cannot be seen, when it is at or below an unreadable path."""
    return next((reason for place, reason in unreadable if inside(path, place)), None)


# --- targeted sync and moves (the watcher's requests) -----------------------------------------
def _owner(path: str, folders: Sequence[Folder]) -> Folder | None:
    """The watched folder holding ``path`` (the deepest one when folders are nested)."""
    best: Folder | None = None
    for folder in folders:
        root = folder.path
        if (path == root or path.startswith(root.rstrip(os.sep) + os.sep)) and (
            best is None or len(root) > len(best.path)
        ):
            best = folder
    return best


def watchable(path: str, root: str) -> bool:
    """A supported image file, not inside a hidden or system folder of ``root``."""
    if not is_supported(path) or path == root:
        return False
    rel = path[len(root.rstrip(os.sep)) + 1 :]
    return not any(is_hidden(part) for part in rel.split(os.sep))


def sync_paths(
    library: Library,
    paths: Iterable[str],
    folders: Sequence[Folder] | None = None,
    model_id: str | None = None,
) -> Changes:
    """Bring the rows of just these files in line with the disk (the targeted form of
    :func:`sync_folders`).

    Each path is stat-ed: a new file is registered pending, a changed one (its stat signature,
    then its content hash, see :class:`~photosearch.core.indexing.scanner.Changes`; or a previous error)
    goes back to pending, a returning one is restored, a vanished one is marked missing, one
    that cannot be read goes offline. A new file with the size and content hash of a vanished or
    missing photo is that photo moved: it keeps its embedding. Paths outside the watched
    folders, hidden or unsupported ones, ones reached through a symbolic link the scan does not
    follow, and paths of folders that are offline are ignored.
    """
    folders = list(folders) if folders is not None else library.folders()
    result = Changes("sync")
    seen, unreadable = _stat_paths(paths, folders, result)
    if not seen and not unreadable:
        return result
    db = library.reader()
    diff = _paths_diff(db, seen, unreadable, model_id)
    diff.vanished.extend(_gone_without_event(db, diff.new, diff.vanished, seen, folders))
    apply_diff(library, db, diff, model_id, result)
    result.seq = library.seq()
    return result


def _stat_paths(
    paths: Iterable[str], folders: list[Folder], result: Changes
) -> tuple[dict[str, tuple[int, FileEntry | None]], dict[str, str]]:
    """The paths to sync, each with its folder's id and its file (None: gone), and the paths
    that cannot be read, with the reason; what is ignored is left out."""
    links = LinkPolicy(f.path for f in folders)
    seen: dict[str, tuple[int, FileEntry | None]] = {}
    unreadable: dict[str, str] = {}
    available: dict[int, bool] = {}
    for path in dict.fromkeys(paths):
        folder = _owner(path, folders)
        if folder is None or not watchable(path, folder.path):
            continue
        if folder.id not in available:
            available[folder.id] = folder_available(folder)
        if not available[folder.id]:
            continue
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            seen[path] = (folder.id, None)
            continue
        except OSError as exc:
            result.problems.append((path, f"cannot read: {exc.strerror or exc}"))
            if exc.errno != errno.ELOOP:
                unreadable[path] = f"cannot read: {exc.strerror or exc}"
            continue
        if not stat.S_ISREG(st.st_mode):
            result.problems.append((path, "not a regular file"))
            continue
        if _through_link(path, folder.path):
            verdict = links.verdict(path, False)
            if verdict is not None:
                if verdict:
                    result.problems.append((path, verdict))
                continue
        seen[path] = (folder.id, FileEntry.from_stat(path, st))
    return seen, unreadable


def _paths_diff(
    db: Database,
    seen: dict[str, tuple[int, FileEntry | None]],
    unreadable: dict[str, str],
    model_id: str | None,
) -> Diff:
    """These files against their rows (an error is retried when its file is touched)."""
    rows = photo_sync.photos_by_path(db, [*seen, *unreadable])
    diff = Diff()
    for path, (folder_id, entry) in seen.items():
        row = rows.get(path)
        if entry is not None:
            diff.sort(folder_id, row, entry, model_id, retry_error=True)
        elif row is not None and row.status not in ("missing", "offline"):
            diff.vanished.append(row)
    for path, reason in unreadable.items():
        if path in rows:
            diff.cannot_read(rows[path], reason)
    diff.recheck(model_id)
    return diff


def _through_link(path: str, root: str) -> bool:
    """Whether ``path`` (below ``root``) is reached through a symbolic link."""
    nominal = os.path.join(os.path.realpath(root), os.path.relpath(path, root))
    return os.path.realpath(path) != nominal


def _gone_without_event(
    db: Database,
    new: list[tuple[int, FileEntry]],
    vanished: list[Photo],
    seen: dict[str, Any],
    folders: Sequence[Folder],
) -> list[Photo]:
    """Photos of the same size as a new file whose own file is gone, not yet marked missing.

    The observer reports a move it could not pair (e.g. into a folder created a moment before)
    as a delete and a create, and the delete may come later than the create: the new file must
    still be recognised as the moved photo, not embedded again.
    """
    sizes = sorted({entry.size for _, entry in new})
    online = {f.id for f in folders if folder_available(f)}
    known = {row.id for row in vanished}
    return [
        row
        for row in photo_sync.hashed_photos_of_sizes(db, sizes)
        if row.folder_id in online
        and row.id not in known
        and row.path not in seen
        and not os.path.lexists(row.path)
    ]


def apply_moves(
    library: Library, moves: Sequence[tuple[str, str]], folders: Sequence[Folder] | None = None
) -> Changes:
    """Apply renames/moves reported by the observer (file or folder ``src`` -> ``dest``) as path
    updates, in order, in one transaction. The photos keep their rows, ids and embeddings.

    A destination outside the watched folders (or hidden, or not a supported image) is not
    applied: the source then vanishes at the next :func:`sync_paths` and is marked missing.
    A photo renamed over another one replaces it: that row is deleted (``removed_ids``).
    """
    folders = list(folders) if folders is not None else library.folders()
    result = Changes("move")

    def apply(db: Database) -> None:
        seq: int | None = None
        for src, dest in moves:
            target = _owner(dest, folders) if dest else None
            if target is None:
                continue
            for photo_id, old in photo_sync.photos_at_or_under(db, src):
                new = dest + old[len(src) :]
                if not watchable(new, target.path):
                    continue
                if seq is None:
                    seq = bump_seq(db)
                clash = photo_sync.other_photo_at(db, new, photo_id)
                if clash is not None:  # renamed over another photo: that one is gone
                    photo_sync.delete_photo(db, seq, clash)
                    result.removed_ids.append(clash)
                photo_sync.set_photo_path(db, seq, photo_id, new, target.id)
                result.moved_ids.append(photo_id)

    if moves:
        library.write(apply)
        result.seq = library.seq()
    return result


def stale_paths(library: Library, folder: Folder, roots: Sequence[str]) -> list[str]:
    """A rescan without events (a folder followed by rescans, or after the kernel dropped
    events): the files whose stat signature differs from their row, the new ones, and the
    photos whose file is gone. They are then synced like paths named by events."""
    rows = {row.path: row for row in photo_sync.photos_in_folder(library.reader(), folder.id)}
    stale: list[str] = []
    on_disk = set()
    for entry in walk_photos(folder.path, roots=roots):
        on_disk.add(entry.path)
        row = rows.get(entry.path)
        if row is None or not row.matches(entry) or row.status in ("missing", "offline"):
            stale.append(entry.path)
    stale.extend(
        path
        for path, row in rows.items()
        if path not in on_disk and row.status not in ("missing", "offline")
    )
    return stale
