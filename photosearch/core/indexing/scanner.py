"""Find the photo files of the watched folders: the walk (hidden and system folders skipped,
symbolic links followed only as :class:`LinkPolicy` allows), stat signatures, content hashes, and
whether a folder can be read at all (offline, not emptied, when it cannot).

What the files found mean for the library is decided by :mod:`photosearch.core.indexing.sync`.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from photosearch.core.library.db import Database
from photosearch.core.library.photo_sync import known_photo_count
from photosearch.core.library.rows import Folder
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


def is_hidden(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_DIRS


def inside(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or below it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def is_system_path(real: str) -> bool:
    return os.name == "posix" and any(inside(real, tree) for tree in SYSTEM_TREES)


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
        holders = [root for root in self.roots if inside(real, root)]
        if not holders:
            return "symbolic link leads outside the watched folders (not followed)"
        if any(self._walked_anyway(real, root, is_dir) for root in holders):
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
    walk = _Walk(
        LinkPolicy(roots if roots is not None else [root]),
        problems if problems is not None else [],
        unreadable if unreadable is not None else [],
    )
    start = _start_folder(root, roots, walk.links, walk.problems)
    if start is None:
        return
    stack = [start]
    while stack:
        folder, real = stack.pop()
        if is_system_path(real):
            continue
        subfolders = []
        for entry in walk.entries(folder):
            if is_hidden(entry.name):
                continue
            found = walk.visit(entry, real)
            if isinstance(found, FileEntry):
                yield found
            elif found is not None:
                subfolders.append(found)
        stack.extend(sorted(subfolders, reverse=True))


@dataclass
class _Walk:
    """One walk's rules and findings: which links to follow, what went wrong, and the folders
    already walked (by device and inode, so a loop is walked once)."""

    links: LinkPolicy
    problems: list[tuple[str, str]]
    unreadable: list[tuple[str, str]]
    seen: set[tuple[int, int]] = field(default_factory=set)

    def entries(self, folder: str) -> list[os.DirEntry[str]]:
        """The folder's entries; none for a folder walked already or one that cannot be read."""
        try:
            info = os.stat(folder)
            key = (info.st_dev, info.st_ino)
            if key in self.seen:
                return []  # a symlink loop, or a second link to a folder already walked
            self.seen.add(key)
            return list(os.scandir(folder))
        except OSError as exc:
            _cannot_read(folder, "cannot read folder", exc, self.problems, self.unreadable)
            return []

    def visit(self, entry: os.DirEntry[str], real: str) -> FileEntry | tuple[str, str] | None:
        """A photo file; a subfolder to walk, as (path, real path); or None: skipped (and why,
        in ``problems``, when the user should know)."""
        try:
            if entry.is_dir(follow_symlinks=True):
                if not entry.is_symlink():
                    return entry.path, os.path.join(real, entry.name)
                if _follow(entry.path, True, self.links, self.problems):
                    return entry.path, os.path.realpath(entry.path)
                return None
            if not is_supported(entry.name):
                return None
            st = entry.stat(follow_symlinks=True)
        except OSError as exc:
            self._cannot_stat(entry, exc)
            return None
        if not stat.S_ISREG(st.st_mode):
            self.problems.append((entry.path, "not a regular file"))
            return None
        if entry.is_symlink() and not _follow(entry.path, False, self.links, self.problems):
            return None
        return FileEntry(entry.path, st.st_size, st.st_mtime, st.st_ctime, _inode(entry, st))

    def _cannot_stat(self, entry: os.DirEntry[str], exc: OSError) -> None:
        if exc.errno == errno.ELOOP:
            self.problems.append((entry.path, "symbolic link loop"))
        elif exc.errno != errno.ENOENT:
            _cannot_read(entry.path, "cannot read", exc, self.problems, self.unreadable)
        elif entry.is_symlink():
            self.problems.append((entry.path, "broken symbolic link (its target is missing)"))


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
    owner = next((r for r in roots if inside(root, r)), None)
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
    known = known_photo_count(db, folder.id)
    return "folder is empty (a drive not mounted?)" if known else None
