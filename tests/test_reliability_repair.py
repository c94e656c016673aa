"""`photosearch repair` never loses a library (issue 19, item 6).

Rules: a library that passes the integrity check is refused without --force; a library open in
another photosearch process is refused; the old file is copied (to a name nothing else has)
before the new one replaces it, so a full disk leaves the original in place and never a 0-byte
library.db; the message says where the old file went.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import TinyEncoder, copy_sample

from photosearch.core.indexing.indexer import Indexer
from photosearch.core.library import repair
from photosearch.core.library.db import DatabaseError
from photosearch.core.library.store import Library

REPO = Path(__file__).parent.parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PHOTOSEARCH_DB"}
    return subprocess.run(
        [sys.executable, "-m", "photosearch", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    copy_sample(root, ["dog", "pizza"], per_class=4)
    return root


def good_library(path: Path, photos: Path) -> None:
    with Library(path) as library:
        library.add_folder(photos)
        Indexer(library, TinyEncoder(), batch_size=4, decode_workers=2).run()


def damage(path: Path) -> None:
    """Zero every page but the first and the last: the file opens, the check fails."""
    data = bytearray(path.read_bytes())
    data[4096 : len(data) - 4096] = bytes(len(data) - 8192)
    path.write_bytes(bytes(data))


def set_aside(folder: Path) -> list[Path]:
    """The copies repair made (without their -wal/-shm)."""
    return sorted(
        p
        for p in folder.iterdir()
        if ".damaged-" in p.name and not p.name.endswith(("-wal", "-shm"))
    )


def leftovers(names: list[str]) -> list[str]:
    """Files a failed repair must not leave behind: partial copies, a half-made new library."""
    return [n for n in names if ".damaged-" in n or ".new-" in n]


def test_a_healthy_library_is_refused_unless_forced(tmp_path, photos):
    db = tmp_path / "library.db"
    good_library(db, photos)
    before = db.read_bytes()
    proc = cli("repair", "--db", str(db))
    assert proc.returncode == 2, proc.stderr
    assert "passes the integrity check" in proc.stderr and "--force" in proc.stderr
    assert db.read_bytes() == before and set_aside(tmp_path) == []

    forced = cli("repair", "--force", "--db", str(db))
    assert forced.returncode == 0, forced.stderr
    (kept,) = set_aside(tmp_path)
    assert kept.read_bytes() == before  # the old library, whole
    assert f"old library kept as {kept}" in forced.stdout
    with Library(db) as library:
        assert [f.path for f in library.folders()] == [str(photos.resolve())]
        assert library.status_counts()["indexed"] == 0


HOLDER = """
import sys
from photosearch.core.library.store import Library
library = Library(sys.argv[1])
print("open", flush=True)
sys.stdin.read()
library.close()
"""


def test_a_library_open_in_another_process_is_refused(tmp_path, photos):
    """Damage found while `watch` (here: a process holding the library open) still runs: the
    repair waits for it, else that process would go on writing into the set-aside file."""
    db = tmp_path / "library.db"
    good_library(db, photos)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        damage(db)
        before = db.read_bytes()
        proc = cli("repair", "--db", str(db))
        after = db.read_bytes()
    finally:
        holder.communicate("", timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert "open in another photosearch process" in proc.stderr, proc.stderr
    assert after == before and set_aside(tmp_path) == []
    done = cli("repair", "--db", str(db))  # once it has closed
    assert done.returncode == 0 and len(set_aside(tmp_path)) == 1, done.stderr


def test_a_full_disk_while_copying_leaves_the_original_in_place(tmp_path, photos, monkeypatch):
    """The copy fails part-way with ENOSPC (simulated where the bytes are written)."""
    db = tmp_path / "library.db"
    good_library(db, photos)
    damage(db)
    before = db.read_bytes()

    def copy_until_full(src, dst, length=0):  # type: ignore[no-untyped-def]
        dst.write(src.read(4096))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shutil, "copyfileobj", copy_until_full)
    with pytest.raises(DatabaseError, match="the disk is full; the library was left as it was"):
        repair.repair_library(db)
    assert db.read_bytes() == before
    assert leftovers(os.listdir(tmp_path)) == []


FULL_DISK_CHILD = r"""
import os, subprocess, sys
disk = sys.argv[1]
db = os.path.join(disk, "library.db")
with open(db, "rb") as f:
    before = f.read()
st = os.statvfs(disk)
with open(os.path.join(disk, "filler"), "wb") as f:  # the disk is full
    f.write(bytes(st.f_bavail * st.f_frsize))
proc = subprocess.run([sys.executable, "-m", "photosearch", "repair", "--db", db],
                      capture_output=True, text=True)
print("RC", proc.returncode)
print("ERR", proc.stderr.strip().replace("\n", " "))
with open(db, "rb") as f:
    print("INTACT", f.read() == before)
print("FILES", sorted(n for n in os.listdir(disk) if ".damaged-" in n or ".new-" in n))
"""


@pytest.mark.skipif(not IS_ROOT or shutil.which("unshare") is None, reason="needs root, unshare")
def test_a_real_full_disk_leaves_the_original_in_place(tmp_path, photos):
    """A tmpfs in a private mount namespace, filled up."""
    disk = tmp_path / "disk"
    disk.mkdir()
    staging = tmp_path / "staging.db"
    good_library(staging, photos)
    damage(staging)
    script = (
        f"mount -t tmpfs -o size=2m tmpfs {disk} && cp {staging} {disk}/library.db && "
        f'exec "$0" -c "$1" {disk}'
    )
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, sys.executable, FULL_DISK_CHILD],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "RC 3" in out and "the disk is full" in out, out
    assert "INTACT True" in out, out
    assert "FILES []" in out, out


def test_two_repairs_with_the_same_stamp_keep_both_copies(tmp_path, photos, monkeypatch):
    """Even with the clock standing still, the second copy never overwrites the first."""

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def]
            return cls(2024, 5, 1, 12, 0, 0, 123456)

    monkeypatch.setattr(repair.dt, "datetime", Frozen)
    db = tmp_path / "library.db"
    good_library(db, photos)
    damage(db)
    first = db.read_bytes()
    one = repair.repair_library(db)
    with Library(db) as library:
        library.add_folder(tmp_path)  # the new library differs from the first one
    second = db.read_bytes()
    two = repair.repair_library(db, force=True)
    assert one.kept != two.kept
    assert one.kept.name == "library.db.damaged-20240501-120000-123456"
    assert two.kept.name == "library.db.damaged-20240501-120000-123456-2"
    assert one.kept.read_bytes() == first and two.kept.read_bytes() == second
    assert one.was_damaged and not two.was_damaged
