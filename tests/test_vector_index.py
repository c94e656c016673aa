"""The in-memory vector index and its memory-mapped cache, against real SQLite libraries.

Vectors are written through the real store (``write_embeddings`` on the writer thread); each
photo's vector is a function of its id and "version", so any snapshot can be checked row by row.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from photosearch.core.library.db import Database
from photosearch.core.library.embeddings import Embedded, write_embeddings
from photosearch.core.library.meta import bump_seq
from photosearch.core.library.quantized import quantize_rows
from photosearch.core.library.snapshot import Snapshot
from photosearch.core.library.store import Library
from photosearch.core.library.vector_index import VectorIndex
from photosearch.core.library.vectors import SEMANTIC_TABLE, VISUAL_TABLE, ensure_vector_table

DV, DS, K = 8, 5, 32


def vector(photo_id: int, version: int = 0, dim: int = DV) -> np.ndarray:
    v = np.random.default_rng(photo_id * 1000 + version).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def held(v: np.ndarray) -> bytes:
    """What the index holds of a stored visual vector: int8 codes and their scale."""
    codes, scale = quantize_rows(v[None])
    return codes.tobytes() + scale.tobytes()


def new_library(path, model: str = "model-a") -> Library:  # type: ignore[no-untyped-def]
    library = Library(path)

    def setup(db: Database) -> None:
        ensure_vector_table(db, VISUAL_TABLE, DV, model, "visual_model")
        ensure_vector_table(db, SEMANTIC_TABLE, DS, "space-a", "semantic_space")
        db.execute(
            "INSERT INTO folders(id, path, added_at) VALUES (1, '/a', 0), (2, '/b', 0) "
            "ON CONFLICT DO NOTHING"
        )

    library.write(setup)
    return library


def embed(library: Library, ids: range | list[int], version: int = 0, folder: int = 1) -> None:
    rows = [
        Embedded(
            i,
            10,
            1.0,
            f"{i:032x}",
            4,
            3,
            1e9 + i,
            f"cam{i % 3}" if i % 2 else None,
            vector(i, version),
            np.arange(K, dtype=np.uint16) + i % 7,
            np.linspace(0.5, 0.01, K, dtype=np.float32),
            vector(i, version, DS),
        )
        for i in ids
    ]

    def write(db: Database) -> None:
        db.executemany(
            "INSERT INTO photos(id, folder_id, path, size, mtime, status, added_at) "
            "VALUES (?, ?, ?, 10, 1.0, 'pending', 0) ON CONFLICT(id) DO UPDATE SET status = "
            "'pending'",
            [(i, folder, f"/{'ab'[folder - 1]}/{i}.jpg") for i in ids],
        )
        write_embeddings(db, "model-a", rows)

    library.write(write)


def set_status(library: Library, ids: list[int], status: str) -> None:
    def write(db: Database) -> None:
        seq = bump_seq(db)
        db.executemany(
            "UPDATE photos SET status = ?, seq = ? WHERE id = ?", [(status, seq, i) for i in ids]
        )

    library.write(write)


def by_id(snap: Snapshot) -> dict[int, tuple]:  # type: ignore[type-arg]
    assert len(set(snap.ids.tolist())) == len(snap), "an id appears twice"
    return {
        int(pid): (
            snap.visual_codes[r].tobytes() + snap.visual_scale[r].tobytes(),
            None if snap.semantic is None else snap.semantic[r].tobytes(),
            snap.top_ids[r].tolist(),
            snap.top_probs[r].tobytes(),
            float(snap.dates[r]),
            snap.cameras[r],
        )
        for r, pid in enumerate(snap.ids.tolist())
    }


def fresh(library: Library) -> dict[int, tuple]:  # type: ignore[type-arg]
    return by_id(VectorIndex(library, cache_dir=False).snapshot())


def test_incremental_refresh_equals_a_fresh_build(tmp_path):
    with new_library(tmp_path / "lib.db") as library:
        index = VectorIndex(library, cache_dir=False)
        embed(library, range(1, 51))
        assert len(index.snapshot()) == 50
        embed(library, range(51, 81))  # new photos
        embed(library, range(1, 11), version=1)  # re-embedded (changed content)
        set_status(library, [20, 21, 22], "missing")  # deleted files
        set_status(library, [23], "pending")  # changed, waiting to be embedded again
        snap = index.snapshot()
        assert len(snap) == 80 - 4
        assert not {20, 21, 22, 23} & set(snap.ids.tolist())
        rows = by_id(snap)
        assert rows == fresh(library)
        assert rows[5][0] == held(vector(5, 1))
        assert index.refresh() is False  # nothing changed since


@pytest.mark.parametrize("slack", [4096, 0])
def test_photos_added_while_indexing_are_appended_without_copying(tmp_path, monkeypatch, slack):
    import photosearch.core.library.vector_index as vector_index

    monkeypatch.setattr(vector_index, "APPEND_SLACK", slack)
    with new_library(tmp_path / "lib.db") as library:
        embed(library, range(1, 101))
        index = VectorIndex(library, cache_dir=False)
        first = index.snapshot()
        embed(library, range(101, 133))  # one indexing batch
        second = index.snapshot()
        kept = {name: getattr(second, name).copy() for name in ("ids", "visual_codes", "semantic")}
        copies, previous = 0, second
        for start in range(133, 1000, 32):  # 28 more batches
            embed(library, range(start, min(start + 32, 1000)))
            snap = index.snapshot()
            copies += not np.shares_memory(snap.visual_codes, previous.visual_codes)
            previous = snap
        # The matrices are copied only when they outgrow their spare rows (growing by a quarter
        # each time): never with the default slack, and without it a handful of times in 28
        # batches (copying on every batch would be 28).
        if slack:
            assert copies == 0
        else:
            assert 1 <= copies <= 9
        # Snapshots handed out earlier are unchanged, and the last equals a fresh build.
        assert len(first) == 100 and len(second) == 132
        for name, array in kept.items():
            assert np.array_equal(getattr(second, name), array)
        assert by_id(second) == {k: v for k, v in fresh(library).items() if k <= 132}
        assert by_id(index.snapshot()) == fresh(library)
        # A change that is not an append (a photo re-embedded) still gives the right rows.
        embed(library, [5], version=2)
        set_status(library, [6], "missing")
        assert by_id(index.snapshot()) == fresh(library)
        embed(library, range(1000, 1040))
        assert by_id(index.snapshot()) == fresh(library)


def test_removed_folder_photos_disappear(tmp_path):
    with new_library(tmp_path / "lib.db") as library:
        embed(library, range(1, 21), folder=1)
        embed(library, range(21, 31), folder=2)
        index = VectorIndex(library, cache_dir=False)
        assert len(index.snapshot()) == 30
        assert library.remove_folder("/b")
        snap = index.snapshot()
        assert sorted(snap.ids.tolist()) == list(range(1, 21))
        assert by_id(snap) == fresh(library)


def test_many_new_photos_at_once_reload_the_index(tmp_path, monkeypatch):
    import photosearch.core.library.vector_index as vector_index

    monkeypatch.setattr(vector_index, "LOOKUP_ROWS_MAX", 8)
    lookups: list[int] = []
    original = VectorIndex._load_ids
    monkeypatch.setattr(
        VectorIndex,
        "_load_ids",
        lambda self, ids, layout: lookups.append(len(ids)) or original(self, ids, layout),
    )
    with new_library(tmp_path / "lib.db") as library:
        embed(library, range(1, 101))
        index = VectorIndex(library, cache_dir=False)
        index.snapshot()
        embed(library, range(101, 121))  # 20: row by row (under a quarter of 100)
        assert by_id(index.snapshot()) == fresh(library) and lookups == [20]
        embed(library, range(121, 201))  # 80 at once: a full load is cheaper
        assert by_id(index.snapshot()) == fresh(library) and lookups == [20]
        assert len(index.snapshot()) == 200


def test_a_photo_renamed_over_another_replaces_it(tmp_path):
    from photosearch.core.indexing.watcher import apply_moves

    with new_library(tmp_path / "lib.db") as library:
        embed(library, range(1, 21))
        index = VectorIndex(library, cache_dir=False)
        assert len(index.snapshot()) == 20
        assert (
            apply_moves(library, [("/a/1.jpg", "/a/2.jpg")]).moved == 1
        )  # photo 2's row is deleted
        snap = index.snapshot()
        assert sorted(snap.ids.tolist()) == [1, *range(3, 21)]
        assert by_id(snap) == fresh(library)


def test_writes_while_reading_stay_consistent(tmp_path):
    with new_library(tmp_path / "lib.db") as library:
        embed(library, range(1, 101))
        index = VectorIndex(library, cache_dir=False)
        stop = threading.Event()
        problems: list[str] = []

        def reader() -> None:
            while not stop.is_set():
                snap = index.snapshot()
                ids = snap.ids.tolist()
                if len(set(ids)) != len(ids):
                    problems.append("duplicate ids")
                for r, pid in enumerate(ids):
                    # every row is one of the versions ever written for that photo
                    row = snap.visual_codes[r].tobytes() + snap.visual_scale[r].tobytes()
                    if not any(row == held(vector(pid, v)) for v in range(4)):
                        problems.append(f"row of {pid} has a vector never written")
                        break

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            for version in range(1, 4):
                embed(library, range(version * 100 + 1, version * 100 + 101))
                embed(library, range(1, 101, version + 1), version=version)
                set_status(library, [version * 7], "missing")
                time.sleep(0.01)
        finally:
            stop.set()
            thread.join()
        assert not problems, problems[:3]
        assert by_id(index.snapshot()) == fresh(library)


def test_cache_is_used_and_equals_a_fresh_build(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    with new_library(tmp_path / "lib.db") as library:
        embed(library, range(1, 41))
        first = VectorIndex(library, cache)
        first.snapshot()
        first.flush()
        assert not first.loaded_from_cache and first.cache is not None and first.cache.saves == 1
        assert first.cache.path.is_file()

        second = VectorIndex(library, cache)

        def no_rebuild(*args: object) -> None:
            raise AssertionError("rebuilt from SQLite although the cache is valid")

        monkeypatch.setattr(second, "_rebuild", no_rebuild)
        snap = second.snapshot()
        assert second.loaded_from_cache
        for name in ("visual_codes", "visual_scale"):
            array = getattr(snap, name)
            assert isinstance(array, np.ndarray) and not array.flags.writeable  # mapped
        assert by_id(snap) == fresh(library)


def test_cache_is_brought_up_to_date_when_the_database_changed(tmp_path):
    cache = tmp_path / "cache"
    with new_library(tmp_path / "lib.db") as library:
        embed(library, range(1, 41))
        first = VectorIndex(library, cache)
        first.snapshot()
        first.flush()
        # changes made after the cache file was written (e.g. by another process)
        embed(library, range(41, 61))
        embed(library, range(1, 6), version=2)
        set_status(library, [30], "missing")
        second = VectorIndex(library, cache)
        snap = second.snapshot()
        assert second.loaded_from_cache  # the file, plus the rows changed since, from SQLite
        assert by_id(snap) == fresh(library)
        assert 30 not in snap.ids.tolist() and len(snap) == 59


def test_cache_is_ignored_for_another_model_or_a_replaced_database(tmp_path):
    cache = tmp_path / "cache"
    path = tmp_path / "lib.db"
    with new_library(path) as library:
        embed(library, range(1, 21))
        index = VectorIndex(library, cache)
        index.snapshot()
        index.flush()
    # The same path, but a new database file (restored, recreated): the cache must not be used.
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"lib.db{suffix}").unlink(missing_ok=True)
    with new_library(path) as library:
        embed(library, range(1, 6))
        index = VectorIndex(library, cache)
        snap = index.snapshot()
        assert not index.loaded_from_cache
        assert sorted(snap.ids.tolist()) == [1, 2, 3, 4, 5]
        index.flush()
        # Another visual model: the stored vectors are dropped, so is the cache.
        library.write(
            lambda db: ensure_vector_table(db, VISUAL_TABLE, DV, "model-b", "visual_model")
        )
        set_status(library, [1, 2, 3, 4, 5], "pending")
        again = VectorIndex(library, cache)
        assert len(again.snapshot()) == 0 and not again.loaded_from_cache


def test_a_corrupt_cache_file_is_ignored(tmp_path):
    cache = tmp_path / "cache"
    with new_library(tmp_path / "lib.db") as library:
        embed(library, range(1, 11))
        index = VectorIndex(library, cache)
        index.snapshot()
        index.flush()
        assert index.cache is not None
        data = index.cache.path.read_bytes()
        index.cache.path.write_bytes(data[: len(data) // 2])
        again = VectorIndex(library, cache)
        assert by_id(again.snapshot()) == fresh(library)
        assert not again.loaded_from_cache


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_libraries(tmp_path, n):
    with new_library(tmp_path / "lib.db") as library:
        embed(library, range(1, n + 1))
        index = VectorIndex(library, tmp_path / "cache")
        assert len(index.snapshot()) == n
        index.flush()
        assert len(VectorIndex(library, tmp_path / "cache").snapshot()) == n


def test_the_scan_is_exact_over_the_held_vectors_and_close_to_the_stored_ones(tmp_path):
    """RAM holds each visual vector as int8 with one scale: ``visual @ q`` equals the product
    with the rows it stands for, in float64, within float32 rounding, and is within the
    quantisation bound of the product with the stored float32 vectors."""
    with new_library(tmp_path / "lib.db") as library:
        embed(library, range(1, 3001))  # more rows than one scan block
        snap = VectorIndex(library, cache_dir=False).snapshot()
        stored = np.stack([library.visual_vector(int(i)) for i in snap.ids])
        held_rows = snap.visual_codes.astype(np.float64) * snap.visual_scale[:, None]
        assert np.array_equal(snap.visual[:], held_rows.astype(np.float32))
        assert np.abs(held_rows - stored).max(axis=1).max() <= snap.visual_scale.max() / 2 + 1e-9
        q = vector(99_999)
        scores = snap.visual @ q
        assert scores.dtype == np.float32 and scores.shape == (len(snap),)
        assert np.abs(scores - held_rows @ q).max() < 1e-6
        bound = np.abs(q).sum() * snap.visual_scale / 2  # |sum (held - stored) q| at most
        assert np.all(np.abs(scores - stored @ q) <= bound + 1e-6)
        assert np.argmax(scores) == np.argmax(stored @ q)
        assert snap.nbytes() / len(snap) == 8 + DV + 4 + 4 * DS + K * (8 + 4) + 8 + 8


def test_a_cache_file_of_the_float32_layout_is_not_used(tmp_path, monkeypatch):
    import photosearch.core.library.matrix_cache as matrix_cache

    cache = tmp_path / "cache"
    with new_library(tmp_path / "lib.db") as library:
        embed(library, range(1, 21))
        monkeypatch.setattr(matrix_cache, "FORMAT_VERSION", 1)  # as written by older code
        old = VectorIndex(library, cache)
        old.snapshot()
        old.flush()
        monkeypatch.setattr(matrix_cache, "FORMAT_VERSION", 2)
        again = VectorIndex(library, cache)
        assert by_id(again.snapshot()) == fresh(library) and not again.loaded_from_cache
