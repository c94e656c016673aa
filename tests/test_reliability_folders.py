"""A folder that cannot be read takes its photos offline, never missing (issue 19, item 10).

Root reads folders whatever their mode bits, and CI runs as root: the scans that must meet an
unreadable folder run in a child process that cannot bypass permissions (as root, its
capability bounding set lacks CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, dropped with
``prctl`` before ``exec``; as any other user, it is simply that user). Everything else is real:
photos, the SQLite file, ``chmod``.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from helpers import TinyEncoder, copy_sample

from photosearch.core.indexing.indexer import Indexer
from photosearch.core.library.store import Library

TESTS = Path(__file__).parent
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2

CHILD = """
import json, logging, os, sys
sys.path.insert(0, {tests!r})
from helpers import TinyEncoder
from photosearch.core.indexing.indexer import Indexer
from photosearch.core.library.store import Library
from photosearch.core.indexing.watcher import sync_paths

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
blocked = {blocked!r}
try:
    os.listdir(blocked)
    can_read = True
except PermissionError:
    can_read = False
encoder = TinyEncoder()
with Library({db!r}) as library:
    if {paths!r}:
        result = sync_paths(library, {paths!r}, None, encoder.model_id)
        summary = {{"missing": result.missing, "offline": result.offline, "problems": []}}
    else:
        summary = Indexer(library, encoder, decode_workers=2).run().as_dict()
    rows = {{p: [s, e] for p, s, e in library.reader().query(
        "SELECT path, status, error FROM photos")}}
print(json.dumps({{"can_read": can_read, "summary": summary, "rows": rows,
                   "calls": encoder.calls}}))
"""


# Looked up here, not in the forked child (no dynamic loading between fork and exec).
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def _drop_permission_bypass() -> None:
    """In the child, before exec: root keeps no capability that ignores mode bits."""
    assert _prctl is not None, "dropping root's permission bypass is done on Linux only"
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if _prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def scan_without_privileges(
    db: Path, blocked: Path, paths: list[str] | None = None
) -> dict[str, Any]:
    """Index (or, given ``paths``, sync just those as the watcher does) in a child process
    for which ``blocked`` really is unreadable."""
    script = CHILD.format(tests=str(TESTS), blocked=str(blocked), db=str(db), paths=paths or [])
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_drop_permission_bypass if os.geteuid() == 0 else None,
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    assert not data["can_read"], "the child could still read the mode-000 folder"
    data["log"] = proc.stderr
    return data


@contextmanager
def unreadable(folder: Path) -> Iterator[Path]:
    folder.chmod(0)
    try:
        yield folder
    finally:
        folder.chmod(0o755)


def indexed_library(tmp_path: Path) -> tuple[Path, Path, TinyEncoder, dict[int, np.ndarray]]:
    root = tmp_path / "photos"
    copy_sample(root, ["dog", "pizza"], per_class=3)
    db = tmp_path / "lib.db"
    encoder = TinyEncoder()
    with Library(db) as library:
        library.add_folder(root)
        Indexer(library, encoder, decode_workers=2).run()
        vectors = {p.id: library.visual_vector(p.id) for p in library.photos_with_status("indexed")}
    assert len(vectors) == 6
    return root, db, encoder, vectors


def assert_back_without_reembedding(db: Path, vectors: dict[int, np.ndarray]) -> None:
    encoder = TinyEncoder()
    with Library(db) as library:
        summary = Indexer(library, encoder, decode_workers=2).run()
        assert library.status_counts()["indexed"] == 6
        assert all(p.error is None for p in library.photos_with_status("indexed"))
        for photo_id, vector in vectors.items():
            assert np.array_equal(library.visual_vector(photo_id), vector)
        assert all(f.online for f in library.folders())
    assert encoder.calls == 0 and summary.embedded == 0


def test_an_unreadable_subfolder_takes_its_photos_offline_with_the_reason(tmp_path: Path) -> None:
    root, db, _, vectors = indexed_library(tmp_path)
    with unreadable(root / "dog") as blocked:
        data = scan_without_privileges(db, blocked)
    rows = data["rows"]
    dogs = {p: r for p, r in rows.items() if p.startswith(str(blocked) + os.sep)}
    assert len(dogs) == 3
    for status, error in dogs.values():
        assert status == "offline"
        assert "Permission denied" in error
    assert [r[0] for p, r in rows.items() if p not in dogs] == ["indexed"] * 3
    assert data["summary"]["missing"] == 0 and data["summary"]["offline"] == 3
    assert data["calls"] == 0
    assert_back_without_reembedding(db, vectors)


def test_an_unreadable_root_is_offline_and_says_why(tmp_path: Path) -> None:
    root, db, _, vectors = indexed_library(tmp_path)
    with unreadable(root) as blocked:
        data = scan_without_privileges(db, blocked)
    assert {r[0] for r in data["rows"].values()} == {"offline"}
    assert {r[1] for r in data["rows"].values()} == {"cannot read folder: Permission denied"}
    assert data["summary"]["offline"] == 6 and data["summary"]["missing"] == 0
    assert f"folder offline (cannot read folder: Permission denied): {root}" in data["log"]
    assert "not found" not in data["log"]
    assert_back_without_reembedding(db, vectors)


def test_the_watcher_sync_keeps_photos_of_an_unreadable_folder_offline(tmp_path: Path) -> None:
    """The watcher's per-file sync: a photo whose folder became unreadable is offline."""
    root, db, _, vectors = indexed_library(tmp_path)
    dogs = sorted(str(p) for p in (root / "dog").glob("*.jpg"))
    with unreadable(root / "dog") as blocked:
        data = scan_without_privileges(db, blocked, dogs)
    assert data["summary"] == {"missing": 0, "offline": 3, "problems": []}
    for path in dogs:
        status, error = data["rows"][path]
        assert status == "offline" and "Permission denied" in error
    assert_back_without_reembedding(db, vectors)
