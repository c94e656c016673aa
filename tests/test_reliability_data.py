"""Data safety: indexing and watching only ever read photos; a missing drive deletes nothing.

Photo folders are made read-only (files 0444, folders 0555). Root ignores those bits, so the
tests compare every file's hash, size, mtime and mode, and every folder's listing, before and
after, whoever runs them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import WATCH_FAST, TinyEncoder, copy_sample

from photosearch.core.indexing.indexer import Indexer
from photosearch.core.library.store import Library

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def snapshot(root: Path) -> dict[str, Any]:
    """Everything a write could change: content, size, mtime (ns), mode, folder listings."""
    state: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        state[dirpath] = ("dir", sorted(dirnames), sorted(filenames), os.stat(dirpath).st_mtime_ns)
        for name in filenames:
            path = os.path.join(dirpath, name)
            st = os.stat(path)
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            state[path] = (digest, st.st_size, st.st_mtime_ns, stat_mode(st))
    return state


def stat_mode(st: os.stat_result) -> int:
    return st.st_mode & 0o7777


def set_read_only(root: Path, read_only: bool) -> None:
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o444 if read_only else 0o644)
    for dirpath, _, _ in sorted(os.walk(root), key=lambda t: -len(t[0])):
        os.chmod(dirpath, 0o555 if read_only else 0o755)


@pytest.fixture
def read_only_photos(tmp_path: Path):  # type: ignore[no-untyped-def]
    root = tmp_path / "photos"
    copy_sample(root, None, per_class=2)  # 72 photos in 36 folders
    # a few odd ones too: they are read (and refused) without being touched
    (root / "odd").mkdir()
    (root / "odd" / "empty.jpg").write_bytes(b"")
    (root / "odd" / "text.jpg").write_text("not a photo")
    (root / "odd" / "cut.jpg").write_bytes(
        (root / "dog" / os.listdir(root / "dog")[0]).read_bytes()[:900]
    )
    set_read_only(root, True)
    yield root
    set_read_only(root, False)


def test_indexing_leaves_every_photo_byte_identical(tmp_path, read_only_photos):
    root = read_only_photos
    before = snapshot(root)
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        summary = Indexer(library, TinyEncoder(), batch_size=8, decode_workers=2).run()
        assert summary.embedded == 72 and summary.errors == 3
        # a second run, and a "move" across folders (content hashing), read the files again
        Indexer(library, TinyEncoder()).run()
        set_read_only(root, False)
        os.rename(root / "dog", root / "dogs-renamed")
        set_read_only(root, True)
        before = snapshot(root)
        moved = Indexer(library, TinyEncoder()).run()
        assert moved.moved == 2 and moved.embedded == 0
    assert snapshot(root) == before


def test_watching_leaves_every_photo_byte_identical(tmp_path, read_only_photos):
    watcher = pytest.importorskip("photosearch.core.indexing.watcher")
    root = read_only_photos
    before = snapshot(root)
    encoder = TinyEncoder()
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        service = watcher.WatchService(
            library,
            lambda: encoder,
            **WATCH_FAST,
        )
        service.start()
        try:
            assert service.wait_idle(60)
            deadline = time.monotonic() + 30
            while library.status_counts()["indexed"] < 72 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert library.status_counts()["indexed"] == 72
            # activity while watching: a photo arrives, a folder is renamed
            set_read_only(root, False)
            shutil.copy2(root / "pizza" / os.listdir(root / "pizza")[0], root / "odd" / "new.jpg")
            os.rename(root / "car", root / "cars")
            set_read_only(root, True)
            before = snapshot(root)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                photo = library.photo_by_path(root / "odd" / "new.jpg")
                if photo is not None and photo.status == "indexed":
                    break
                time.sleep(0.05)
            assert service.wait_idle(30)
        finally:
            service.stop()
        assert service.error is None
        assert library.status_counts()["indexed"] == 73
    assert snapshot(root) == before


UNPLUG = r"""
import sys
sys.path.insert(0, {tests!r})
import test_reliability_data as t
t.unplug_scenario({drive!r}, {db!r}, {mode!r})
print("SCENARIO OK")
"""


def unplug_scenario(drive: str, db: str, mode: str) -> None:
    """Index a drive, unplug it, index again, plug it back: nothing deleted, nothing re-done.

    ``mode`` "mount": a real tmpfs mounted on ``drive`` (the empty mount point stays behind, as
    with a real USB disk); "rename": the folder disappears (how a missing network share looks).
    """
    drive_path = Path(drive)
    stash = drive_path.parent / "stash"

    def plug() -> None:
        if mode == "mount":
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", drive], check=True)
            shutil.copytree(stash, drive, dirs_exist_ok=True, copy_function=shutil.copy2)
        else:
            stash.rename(drive_path)

    def unplug() -> None:
        if mode == "mount":
            subprocess.run(["umount", drive], check=True)
        else:
            drive_path.rename(stash)

    copy_sample(stash, ["dog", "pizza", "sunflower"], per_class=3)
    if mode == "mount":
        drive_path.mkdir()
    plug()
    before = snapshot(drive_path)
    encoder = TinyEncoder()
    with Library(db) as library:
        library.add_folder(drive_path)
        Indexer(library, encoder).run()
        vectors = {p.id: library.visual_vector(p.id) for p in library.photos_with_status("indexed")}
        assert len(vectors) == 9
        unplug()
        for _ in range(2):  # twice: a second scan of a missing drive changes nothing either
            summary = Indexer(library, encoder).run()
            assert summary.offline == 9 and summary.missing == 0, summary
        counts = library.status_counts()
        assert counts["offline"] == 9 and counts["missing"] == 0, counts
        assert library.reader().scalar("SELECT COUNT(*) FROM vec_visual") == 9
        assert not library.folders()[0].online
        calls = encoder.calls
        plug()
        summary = Indexer(library, encoder).run()
        assert encoder.calls == calls and summary.embedded == 0
        assert library.status_counts()["indexed"] == 9 and library.folders()[0].online
        for photo_id, vector in vectors.items():
            assert np.array_equal(library.visual_vector(photo_id), vector)
    assert snapshot(drive_path) == before
    if mode == "mount":
        unplug()


def test_missing_drive_goes_offline_and_comes_back_intact(tmp_path):
    unplug_scenario(str(tmp_path / "drive"), str(tmp_path / "lib.db"), "rename")


def test_unmounted_drive_with_its_mount_point_left_behind(tmp_path):
    """A real mount in a private mount namespace (root only): the empty mount point remains."""
    if not IS_ROOT or shutil.which("unshare") is None:
        pytest.skip("mounting needs root and unshare; the rename test covers the rest")
    script = UNPLUG.format(
        tests=str(Path(__file__).parent),
        drive=str(tmp_path / "drive"),
        db=str(tmp_path / "lib.db"),
        mode="mount",
    )
    proc = subprocess.run(
        ["unshare", "-m", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent.parent,
    )
    if "SCENARIO" not in proc.stdout and "Operation not permitted" in proc.stderr:
        pytest.skip(f"cannot make a mount namespace here: {proc.stderr.strip()[-300:]}")
    assert proc.returncode == 0 and "SCENARIO OK" in proc.stdout, proc.stderr[-3000:]
