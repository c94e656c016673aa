"""The store and the incremental indexer against real SQLite files and real photos."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import SAMPLE, copy_sample

from photosearch.core.indexing.indexer import Indexer
from photosearch.core.library.db import Database
from photosearch.core.library.schema import SCHEMA_VERSION, DatabaseTooNewError
from photosearch.core.library.store import Library
from photosearch.core.search.searcher import Searcher


def index(library: Library, encoder, **kw):  # type: ignore[no-untyped-def]
    return Indexer(library, encoder, **kw).run()


def test_first_index_registers_and_embeds_everything(tmp_path, tiny_encoder):
    photos = copy_sample(tmp_path / "photos", ["dog", "pizza"], per_class=4)
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(tmp_path / "photos")
        summary = index(library, tiny_encoder)
        assert summary.added == len(photos) == 8
        assert summary.embedded == 8 and summary.errors == 0
        assert library.status_counts()["indexed"] == 8
        photo = library.photo_by_path(photos[0])
        assert photo is not None and photo.width > 0 and photo.height > 0
        assert photo.content_hash and len(photo.content_hash) == 32


def test_reindex_reads_nothing_again(tmp_path, tiny_encoder):
    copy_sample(tmp_path / "photos", ["dog", "pizza"], per_class=3)
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(tmp_path / "photos")
        index(library, tiny_encoder)
        calls = tiny_encoder.calls
        summary = index(library, tiny_encoder)
    assert summary.embedded == 0 and summary.added == 0 and summary.unchanged == 6
    assert tiny_encoder.calls == calls


def test_renamed_folder_keeps_embeddings_and_similar_finds_new_paths(tmp_path, tiny_encoder):
    root = tmp_path / "photos"
    copy_sample(root, ["dog", "pizza", "sunflower"], per_class=3)
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        index(library, tiny_encoder)
        before = library.status_counts()["indexed"]
        (root / "dog").rename(root / "dalmatians")
        calls = tiny_encoder.calls
        summary = index(library, tiny_encoder)
        assert summary.moved == 3 and summary.embedded == 0 and summary.missing == 0
        assert tiny_encoder.calls == calls
        assert library.status_counts()["indexed"] == before
        results = Searcher(library, lambda: tiny_encoder).similar_to_image(
            root / "dalmatians" / "image_0001.jpg", k=50
        )
        paths = {r.path for r in results}
        assert str(root / "dalmatians" / "image_0011.jpg") in paths
        assert not any("/dog/" in p for p in paths)
        assert str(root / "dalmatians" / "image_0001.jpg") not in paths  # the query itself


def test_deleted_file_leaves_results_and_changed_file_is_reembedded(tmp_path, tiny_encoder):
    root = tmp_path / "photos"
    photos = copy_sample(root, ["dog"], per_class=4)
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        index(library, tiny_encoder)
        photos[0].unlink()
        shutil.copy2(SAMPLE / "pizza" / "image_0001.jpg", photos[1])  # new content, same name
        os.utime(photos[1], (time.time() + 5, time.time() + 5))
        summary = index(library, tiny_encoder)
        assert summary.missing == 1 and summary.updated == 1 and summary.embedded == 1
        searcher = Searcher(library, lambda: tiny_encoder)
        paths = {r.path for r in searcher.similar_to_image(SAMPLE / "dog" / "image_0001.jpg", k=10)}
        assert str(photos[0]) not in paths
        assert library.photo_by_path(photos[0]).status == "missing"


def test_corrupt_file_is_an_error_row_and_the_rest_are_indexed(tmp_path, tiny_encoder):
    root = tmp_path / "photos"
    copy_sample(root, ["dog"], per_class=3)
    (root / "broken.jpg").write_bytes((SAMPLE / "dog" / "image_0001.jpg").read_bytes()[:300])
    (root / "notes.jpg").write_text("this is not a photo")
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        summary = index(library, tiny_encoder)
        assert summary.errors == 2 and summary.embedded == 3
        errors = {Path(p.path).name: p.error for p in library.errors()}
        assert "truncated" in errors["broken.jpg"] or "corrupt" in errors["broken.jpg"]
        assert "not an image" in errors["notes.jpg"]


def test_unmounted_folder_goes_offline_and_comes_back(tmp_path, tiny_encoder):
    root = tmp_path / "drive"
    copy_sample(root, ["dog"], per_class=3)
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        index(library, tiny_encoder)
        root.rename(tmp_path / "unplugged")
        summary = index(library, tiny_encoder)
        assert summary.offline == 3 and summary.missing == 0
        assert library.status_counts()["offline"] == 3
        assert not library.folders()[0].online
        (tmp_path / "unplugged").rename(root)
        calls = tiny_encoder.calls
        summary = index(library, tiny_encoder)
        assert library.status_counts()["indexed"] == 3 and tiny_encoder.calls == calls


def test_database_newer_than_the_code_is_refused(tmp_path):
    path = tmp_path / "lib.db"
    Library(path).close()
    db = Database(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(DatabaseTooNewError, match="newer photosearch"):
        Library(path)


def test_wal_and_schema_version(tmp_path):
    with Library(tmp_path / "lib.db") as library:
        db = library.reader()
        assert db.scalar("PRAGMA journal_mode") == "wal"
        assert db.scalar("PRAGMA user_version") == SCHEMA_VERSION


KILL_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from helpers import TinyEncoder
from photosearch.core.indexing.indexer import Indexer
from photosearch.core.library.store import Library
lib = Library({db!r})
lib.add_folder({root!r})
Indexer(lib, TinyEncoder(), batch_size=4, decode_workers=2).run()
lib.close()
"""


def test_sigkill_mid_index_leaves_a_consistent_database(tmp_path, tiny_encoder):
    root = tmp_path / "photos"
    copy_sample(root, None, per_class=3)  # 108 photos
    db_path = tmp_path / "lib.db"
    script = KILL_SCRIPT.format(tests=str(Path(__file__).parent), db=str(db_path), root=str(root))
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until some, not all, photos are embedded
        if db_path.exists():
            try:
                db = Database(db_path, readonly=True)
                done = db.scalar("SELECT COUNT(*) FROM photos WHERE status = 'indexed'", default=0)
                db.close()
            except Exception:
                done = 0
            if done >= 8:
                break
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    with Library(db_path) as library:
        assert library.reader().scalar("PRAGMA integrity_check") == "ok"
        before = library.status_counts()["indexed"]
        assert before > 0
        summary = index(library, tiny_encoder)
        counts = library.status_counts()
        assert counts["indexed"] == 108 and counts["pending"] == 0
        assert summary.embedded == 108 - before  # finished work is not redone
        db = library.reader()
        assert db.scalar("SELECT COUNT(*) FROM vec_visual") == 108
        assert db.scalar("SELECT COUNT(*) FROM photo_classes") == 108
        assert db.scalar("SELECT COUNT(DISTINCT path) FROM photos") == 108


def test_real_model_similar_finds_the_same_class(sample_library_path, real_encoder):
    with Library(sample_library_path) as library:
        searcher = Searcher(library, lambda: real_encoder)
        for cls in ("dog", "pizza", "sunflower", "airplane"):
            query = SAMPLE / cls / "image_0001.jpg"
            results = searcher.similar_to_image(query, k=5)
            assert len(results) == 5
            hits = sum(f"/{cls}/" in r.path for r in results)
            assert hits >= 4, (cls, [r.path for r in results])
            assert str(query) not in {r.path for r in results}


def test_empty_mount_point_counts_as_offline_not_deleted(tmp_path, tiny_encoder):
    root = tmp_path / "mnt"
    photos = copy_sample(root, ["dog"], per_class=2)
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        index(library, tiny_encoder)
        stash = tmp_path / "stash"
        shutil.move(str(root / "dog"), stash)  # the drive is unplugged; its mount point stays
        summary = index(library, tiny_encoder)
        assert summary.offline == 2 and summary.missing == 0
        shutil.move(str(stash), root / "dog")
        index(library, tiny_encoder)
        assert library.photo_by_path(photos[0]).status == "indexed"
