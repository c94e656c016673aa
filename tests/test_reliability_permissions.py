"""The library and the thumbnails are private whatever the umask (issue 19, item 12).

The database holds every photo path and capture date, a thumbnail shows a photo: they, their
side files (-wal, -shm, the lock files, repair's copies) are created 0600 and their folders
0700, with the umask at 022 (the usual) and at 000 (nothing masked).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import TinyEncoder, copy_sample

from photosearch.core.indexing.indexer import Indexer
from photosearch.core.library.repair import repair_library
from photosearch.core.library.store import Library


@pytest.fixture(params=[0o022, 0o000], ids=["umask 022", "umask 000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    copy_sample(root, ["dog"], per_class=3)
    return root


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_library_files_and_folders_are_private(tmp_path, photos, umask):
    data = tmp_path / "data" / "photosearch"  # neither folder exists yet
    db = data / "library.db"
    with Library(db) as library:
        library.add_folder(photos)
        Indexer(library, TinyEncoder(), batch_size=2, decode_workers=2).run()
        files = ["library.db", "library.db-wal", "library.db-shm", "library.db.lock"]
        files.append("library.db.indexing.lock")
        # while open, so that -wal and -shm exist
        modes = {n: oct(mode(data / n)) if (data / n).exists() else None for n in files}
    assert modes == dict.fromkeys(files, "0o600")
    assert oct(mode(data)) == oct(mode(data.parent)) == "0o700"


def test_repair_copies_are_private(tmp_path, photos, umask):
    db = tmp_path / "library.db"
    with Library(db) as library:
        library.add_folder(photos)
    result = repair_library(db, force=True)
    assert oct(mode(result.kept)) == oct(mode(db)) == "0o600"


def test_thumbnails_are_private(tmp_path, photos, umask, qapp):
    from photosearch.gui.thumbnails import ThumbnailCache

    folder = tmp_path / "cache" / "thumbnails"
    photo = next(photos.rglob("*.jpg"))
    assert not ThumbnailCache(folder).load(str(photo)).isNull()
    (thumbnail,) = folder.rglob("*.jpg")
    assert oct(mode(thumbnail)) == "0o600"
    for path in (thumbnail.parent, folder, folder.parent):
        assert oct(mode(path)) == "0o700", path
