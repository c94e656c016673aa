"""A damaged, read-only or full library database gives a clear message, never a traceback.

The command line is run as a real subprocess (what a user sees); the full-disk case also runs
in-process to check that the library survives and resumes once space is back.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import TinyEncoder, copy_sample

from photosearch.core.indexing.indexer import Indexer
from photosearch.core.library.db import DatabaseError
from photosearch.core.library.store import Library

REPO = Path(__file__).parent.parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
# Root ignores permissions; without the two capabilities that let it, they apply again.
AS_USER = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if IS_ROOT else []


def cli(*args: str, prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PHOTOSEARCH_DB"}
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "photosearch", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )


def good_library(path: Path, photos: Path) -> None:
    with Library(path) as library:
        library.add_folder(photos)
        Indexer(library, TinyEncoder(), batch_size=8, decode_workers=2).run()


def damage(kind: str, path: Path, photos: Path) -> None:
    if kind == "random bytes":
        path.write_bytes(os.urandom(20000))
    elif kind == "text file":
        path.write_text("this is my shopping list, not a database\n" * 100)
    else:
        good_library(path, photos)
        data = bytearray(path.read_bytes())
        assert len(data) > 4 * 4096
        if kind == "truncated":
            data = data[: len(data) // 3 + 100]
        elif kind == "zeroed pages":
            data[4096 : len(data) - 4096] = bytes(len(data) - 8192)
        elif kind == "broken header":
            data[16:24] = b"\xff" * 8  # page size and format bytes
        path.write_bytes(bytes(data))


KINDS = ["random bytes", "text file", "truncated", "zeroed pages", "broken header"]


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    copy_sample(root, ["dog", "pizza", "sunflower"], per_class=6)
    return root


@pytest.mark.parametrize("kind", KINDS)
def test_damaged_database_gives_a_repair_hint_not_a_traceback(tmp_path, photos, kind):
    db = tmp_path / "corrupt.db"
    damage(kind, db, photos)
    for command in (["status"], ["folders", "list"]):
        proc = cli(*command, "--db", str(db))
        assert proc.returncode != 0, (command, proc.stdout)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert "photosearch repair" in proc.stderr, proc.stderr
        assert "damaged" in proc.stderr


def test_repair_keeps_the_old_file_aside_and_the_new_library_works(tmp_path, photos):
    db = tmp_path / "corrupt.db"
    damage("zeroed pages", db, photos)
    damaged_bytes = db.read_bytes()
    proc = cli("repair", "--db", str(db))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    kept = [
        p
        for p in tmp_path.iterdir()
        if p.name.startswith("corrupt.db.damaged-") and not p.name.endswith(("-wal", "-shm"))
    ]
    assert len(kept) == 1 and kept[0].read_bytes() == damaged_bytes, kept
    assert str(kept[0]) in proc.stdout
    status = cli("status", "--db", str(db))
    assert status.returncode == 0, status.stderr
    with Library(db) as library:
        assert library.reader().scalar("PRAGMA integrity_check") == "ok"
        if not library.folders():
            library.add_folder(photos)
        summary = Indexer(library, TinyEncoder(), batch_size=8).run()
        assert summary.embedded == 18 and library.status_counts()["indexed"] == 18


def test_repair_recovers_the_folders_when_they_are_still_readable(tmp_path, photos):
    """Damage only the vector pages: the folder list survives the repair, vectors are rebuilt."""
    import sqlite3

    db = tmp_path / "lib.db"
    good_library(db, photos)
    conn = sqlite3.connect(db)
    rootpages = [
        r[0]
        for r in conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name LIKE 'vec_visual_%' AND rootpage > 0"
        )
    ]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    assert rootpages
    data = bytearray(db.read_bytes())
    for page in rootpages:
        start = (page - 1) * page_size
        data[start : start + page_size] = b"\xee" * page_size
    db.write_bytes(bytes(data))
    proc = cli("repair", "--db", str(db))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "with 1 folders" in proc.stdout, proc.stdout
    with Library(db) as library:
        assert [f.path for f in library.folders()] == [str(photos.resolve())]
        Indexer(library, TinyEncoder(), batch_size=8).run()
        assert library.status_counts()["indexed"] == 18


@pytest.mark.skipif(IS_ROOT and shutil.which("setpriv") is None, reason="root without setpriv")
def test_read_only_data_folder_gives_a_clear_message(tmp_path, photos):
    ro = tmp_path / "ro"
    ro.mkdir()
    existing = tmp_path / "ro-existing"
    existing.mkdir()
    good_library(existing / "library.db", photos)
    ro.chmod(0o555)
    existing.chmod(0o555)
    (existing / "library.db").chmod(0o444)
    try:
        fresh = cli("folders", "add", str(photos), "--db", str(ro / "library.db"), prefix=AS_USER)
        old = cli(
            "folders", "add", str(tmp_path), "--db", str(existing / "library.db"), prefix=AS_USER
        )
    finally:
        ro.chmod(0o755)
        existing.chmod(0o755)
        (existing / "library.db").chmod(0o644)
    for proc in (fresh, old):
        assert proc.returncode == 3, proc.stderr
        assert "Traceback" not in proc.stderr
        assert "read-only" in proc.stderr, proc.stderr
    assert "choose another place with --db" in fresh.stderr


def _can_mount_tmpfs(tmp_path: Path) -> bool:
    if not IS_ROOT or shutil.which("unshare") is None:
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    proc = subprocess.run(
        ["unshare", "-m", "mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
        capture_output=True,
    )
    return proc.returncode == 0


def test_full_disk_on_the_command_line(tmp_path, photos):
    """A 200 KB tmpfs, nearly filled, in a private mount namespace (root only)."""
    if not _can_mount_tmpfs(tmp_path):
        pytest.skip("cannot mount a tmpfs here (needs root and unshare); see the in-process test")
    full = tmp_path / "full"
    full.mkdir()
    script = (
        f"mount -t tmpfs -o size={{size}}k tmpfs {full} && "
        f"dd if=/dev/zero of={full}/filler bs=4k count={{fill}} 2>/dev/null && "
        f"{sys.executable} -m photosearch folders add {photos} --db {full}/library.db"
    )
    # Full before the first page (SQLite then says "disk I/O error") and full part-way.
    for size, fill in ((64, 13), (200, 30)):
        proc = subprocess.run(
            ["unshare", "-m", "sh", "-c", script.format(size=size, fill=fill)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        assert proc.returncode == 3, proc.stderr
        assert "the disk is full" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


FULL_DISK_CHILD = r"""
import os, sys
sys.path.insert(0, {tests!r})
from helpers import TinyEncoder
from photosearch.core.library.db import DatabaseError
from photosearch.core.indexing.indexer import Indexer
from photosearch.core.library.store import Library

disk, photos = {disk!r}, {photos!r}
with Library(disk + "/lib.db") as library:
    library.add_folder(photos)
    indexer = Indexer(library, TinyEncoder(), batch_size=4, decode_workers=2)
    indexer.prepare()
    from photosearch.core.indexing.sync import sync_folders
    sync_folders(library, None, indexer.encoder.model_id)
    st = os.statvfs(disk)
    with open(disk + "/filler", "wb") as f:  # leave 16 KB: less than one vector chunk
        f.write(bytes(max(0, st.f_bavail * st.f_frsize - 16384)))
    try:
        indexer.embed_pending()
        print("NO ERROR")
    except DatabaseError as exc:
        print("ERROR", exc)
os.remove(disk + "/filler")
with Library(disk + "/lib.db") as library:
    assert library.reader().scalar("PRAGMA integrity_check") == "ok"
    Indexer(library, TinyEncoder(), batch_size=4).run()
    print("INDEXED", library.status_counts()["indexed"])
"""


def test_full_disk_while_indexing_stops_cleanly_and_resumes(tmp_path, photos):
    """A real full disk (a tmpfs in a private mount namespace) while vectors are written."""
    if not _can_mount_tmpfs(tmp_path):
        pytest.skip("cannot mount a tmpfs here (needs root and unshare); see the next test")
    disk = tmp_path / "disk"
    disk.mkdir()
    script = FULL_DISK_CHILD.format(
        tests=str(Path(__file__).parent), disk=str(disk), photos=str(photos)
    )
    proc = subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            f'mount -t tmpfs -o size=2m tmpfs {disk} && exec "$0" -c "$1"',
            sys.executable,
            script,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ERROR cannot write to" in proc.stdout and "the disk is full" in proc.stdout, proc.stdout
    assert "INDEXED 18" in proc.stdout, proc.stdout


def test_database_full_simulated_stops_cleanly_and_resumes(tmp_path, photos):
    """Simulated with ``PRAGMA max_page_count`` (works everywhere, no root needed): the run stops
    with a clear error, the file stays consistent, and the next run finishes the job."""
    db = tmp_path / "lib.db"
    with Library(db) as library:
        library.add_folder(photos)
        indexer = Indexer(library, TinyEncoder(), batch_size=2, decode_workers=2)
        indexer.prepare()
        pages = library.writer.call(lambda d: d.scalar("PRAGMA page_count"))
        library.writer.call(lambda d: d.execute(f"PRAGMA max_page_count = {pages}"))
        with pytest.raises(DatabaseError, match="cannot write to .*: the disk (is|may be) full"):
            indexer.run()
    with Library(db) as library:
        assert library.reader().scalar("PRAGMA integrity_check") == "ok"
        assert library.status_counts()["indexed"] == 0
        summary = Indexer(library, TinyEncoder()).run()
        assert summary.embedded == 18 and library.status_counts()["indexed"] == 18
        assert library.reader().scalar("SELECT COUNT(*) FROM vec_visual") == 18
