"""A photo changed in place is re-read, whatever its size and mtime say (issue 19, item 3).

The change check compares size, mtime, ctime and inode; when any differs and the size does not,
the file is re-hashed: new content is re-embedded, the same content only gets its new
signature. An untouched library is checked from ``stat`` alone. Real photos, a real SQLite file,
real file-system events; the tiny encoder stands in for the model.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from helpers import SAMPLE, WATCH_FAST, TinyEncoder, copy_sample

from photosearch.core.indexing import scanner
from photosearch.core.indexing.indexer import Indexer
from photosearch.core.indexing.scanner import bytes_hash
from photosearch.core.indexing.sync import sync_folders
from photosearch.core.indexing.watcher import WatchService
from photosearch.core.library.schema import SCHEMA_VERSION
from photosearch.core.library.store import Library


def same_size_pair() -> tuple[bytes, bytes]:
    """Two different real photos padded (after their end marker) to one byte size."""
    first, second = sorted(SAMPLE.glob("dog/*.jpg"))[0], sorted(SAMPLE.glob("pizza/*.jpg"))[0]
    a, b = first.read_bytes(), second.read_bytes()
    size = max(len(a), len(b))
    return a.ljust(size, b"\0"), b.ljust(size, b"\0")


def rewrite_in_place(path: Path, data: bytes) -> None:
    """Overwrite the bytes (same inode), then put the old mtime back."""
    before = path.stat()
    with open(path, "r+b") as f:
        f.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def replace_by_rename(path: Path, data: bytes) -> None:
    """What ``exiftool -P`` and most restore tools do: a new file renamed over the old one,
    with the old mtime (a new inode)."""
    before = path.stat()
    tmp = path.with_name(path.name + "_exiftool_tmp")
    tmp.write_bytes(data)
    os.utime(tmp, ns=(before.st_atime_ns, before.st_mtime_ns))
    tmp.replace(path)


def index(library: Library, encoder: TinyEncoder) -> None:
    Indexer(library, encoder, batch_size=8, decode_workers=2).run()


@pytest.mark.parametrize("replace", [rewrite_in_place, replace_by_rename])
def test_index_rereads_a_photo_replaced_with_the_same_size_and_mtime(
    tmp_path: Path, replace: Callable[[Path, bytes], None]
) -> None:
    root = tmp_path / "photos"
    copy_sample(root, ["sunflower"], per_class=2)
    old, new = same_size_pair()
    photo = root / "photo.jpg"
    photo.write_bytes(old)
    encoder = TinyEncoder()
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        index(library, encoder)
        before = library.photo_by_path(photo)
        assert before is not None and before.content_hash == bytes_hash(old)
        vector = library.visual_vector(before.id)
        size, mtime = photo.stat().st_size, photo.stat().st_mtime_ns

        replace(photo, new)
        assert (photo.stat().st_size, photo.stat().st_mtime_ns) == (size, mtime)
        calls = encoder.calls
        summary = Indexer(library, encoder, batch_size=8, decode_workers=2).run()

        after = library.photo_by_path(photo)
        assert after is not None and after.id == before.id
        assert after.status == "indexed"
        assert after.content_hash == bytes_hash(new)
        assert not np.array_equal(library.visual_vector(after.id), vector)
        assert summary.updated == 1 and summary.embedded == 1
        assert encoder.calls == calls + 1  # only the replaced photo was embedded again


def test_watcher_rereads_a_photo_replaced_with_the_same_size_and_mtime(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    old, new = same_size_pair()
    photo = root / "photo.jpg"
    photo.write_bytes(old)
    encoder = TinyEncoder()
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        service = WatchService(library, lambda: encoder, **WATCH_FAST)
        service.start()
        try:
            assert service.wait_idle(60)
            before = library.photo_by_path(photo)
            assert before is not None and before.status == "indexed"
            vector = library.visual_vector(before.id)
            replace_by_rename(photo, new)
            wait_for(
                lambda: (
                    (p := library.photo_by_path(photo)) is not None
                    and p.status == "indexed"
                    and p.content_hash == bytes_hash(new)
                ),
                "the replaced photo re-indexed",
            )
            assert not np.array_equal(library.visual_vector(before.id), vector)
        finally:
            service.stop()
        assert service.error is None


def test_a_touched_photo_is_rehashed_not_reembedded(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    photos = copy_sample(root, ["dog"], per_class=3)
    encoder = TinyEncoder()
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        index(library, encoder)
        calls = encoder.calls
        os.utime(photos[0], (1_000_000_000, 1_000_000_000))
        photos[1].chmod(0o600)  # changes only the ctime
        result = sync_folders(library, None, encoder.model_id)
        assert (result.rechecked, result.updated, result.unchanged) == (2, 0, 3)
        index(library, encoder)
        assert encoder.calls == calls
        touched = library.photo_by_path(photos[0])
        assert touched is not None and touched.status == "indexed"
        assert touched.mtime == 1_000_000_000  # the new signature is stored: checked once
        assert sync_folders(library, None, encoder.model_id).rechecked == 0


def test_an_untouched_library_is_checked_without_reading_a_photo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "photos"
    copy_sample(root, ["dog", "pizza"], per_class=5)
    encoder = TinyEncoder()
    hashed: list[str] = []
    real_hash = scanner.file_hash
    monkeypatch.setattr(scanner, "file_hash", lambda p: hashed.append(p) or real_hash(p))
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        index(library, encoder)
        hashed.clear()
        result = sync_folders(library, None, encoder.model_id)
        assert (result.unchanged, result.rechecked, result.updated) == (10, 0, 0)
        assert hashed == []


def test_rows_from_before_the_migration_are_rehashed_once_not_reembedded(tmp_path: Path) -> None:
    """A version-1 library (no ctime, no inode) is migrated; its photos are checked once by
    content hash, keep their vectors, and are not re-read after that."""
    root = tmp_path / "photos"
    copy_sample(root, ["dog", "pizza"], per_class=3)
    db_path = tmp_path / "lib.db"
    encoder = TinyEncoder()
    with Library(db_path) as library:
        library.add_folder(root)
        index(library, encoder)
        vectors = {p.id: library.visual_vector(p.id) for p in library.photos_with_status("indexed")}
    downgrade_to_version_1(db_path)

    with Library(db_path) as library:
        assert library.reader().scalar("PRAGMA user_version") == SCHEMA_VERSION
        rows = library.reader().query("SELECT ctime, inode FROM photos")
        assert rows and all(r == (None, None) for r in rows)  # unknown until checked
        calls = encoder.calls
        first = sync_folders(library, None, encoder.model_id)
        assert (first.rechecked, first.updated, first.unchanged) == (6, 0, 6)
        index(library, encoder)
        assert encoder.calls == calls
        for photo_id, vector in vectors.items():
            assert np.array_equal(library.visual_vector(photo_id), vector)
        assert library.reader().scalar("SELECT COUNT(*) FROM photos WHERE ctime IS NULL") == 0
        assert sync_folders(library, None, encoder.model_id).rechecked == 0


def downgrade_to_version_1(db_path: Path) -> None:
    """Make the file exactly what version 1 of the schema wrote (sqlite-vec's tables are not
    touched, so the plain stdlib driver does)."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("DROP TABLE taught_examples")  # version 3
        conn.execute("DROP TABLE taught_words")
        conn.execute("ALTER TABLE photos DROP COLUMN ctime")
        conn.execute("ALTER TABLE photos DROP COLUMN inode")
        conn.execute("PRAGMA user_version = 1")
    finally:
        conn.close()


def wait_for(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def test_the_thumbnail_of_a_photo_replaced_with_the_same_size_and_mtime_is_redone(
    qapp, tmp_path: Path
) -> None:
    from photosearch.gui.thumbnails import ThumbnailCache

    old, new = same_size_pair()
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(old)
    cache = ThumbnailCache(tmp_path / "thumbs")
    first = cache.load(str(photo))
    first_file = cache.file_for(str(photo))
    assert not first.isNull() and first_file is not None and first_file.exists()
    rewrite_in_place(photo, new)
    assert cache.file_for(str(photo)) != first_file
    assert cache.load(str(photo)) != first  # decoded again, from the new content
