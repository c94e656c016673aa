"""Duplicates: the blocked pair search, and groups from real photos in a real SQLite library.

The variant test edits bundled photos with Pillow (into tmp folders; the originals are only read),
indexes everything with the real model and checks, at the default threshold, that each photo
groups with exactly its own edited copies and byte copies, while other photos of the same class
stay out of every group.

The bundled photos are about 300 px, barely above the network's 256 px input; a camera photo is
ten times that. So each test original is first upscaled to a 600 px short side (the tuning tool's
``--min-side 600``): halving it then gives what halving does in a real library, a copy still
larger than the network input, rather than a 150 px thumbnail the network sees blurred.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import SAMPLE, VARIANTS, make_variant
from PIL import Image, ImageOps

from photosearch.cli import main
from photosearch.core.indexing.indexer import Indexer
from photosearch.core.library.store import Library
from photosearch.core.search.duplicates import (
    DEFAULT_THRESHOLD,
    connected_groups,
    find_duplicates,
    similar_pairs,
)

MIN_SIDE = 600
# Per class: the first photo (edited and copied) and the next two (distinct, same class).
CLASSES = ["dog", "pizza", "sunflower", "airplane", "face", "chair"]


# --- the pair search on plain matrices -------------------------------------------------------
def brute_pairs(x: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    sims = x @ x.T
    i, j = np.nonzero(np.triu(sims >= threshold, 1))
    return set(zip(i.tolist(), j.tolist()))


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("block", [1, 7, 64, 4096])
def test_blocked_pairs_equal_brute_force(block):
    rng = np.random.default_rng(1)
    x = unit(rng.standard_normal((150, 8)))  # low dimension: many pairs above the threshold
    x[100:110] = unit(x[:10] + 0.01 * rng.standard_normal((10, 8)))
    i, j, s = similar_pairs(x, 0.9, block=block)
    assert set(zip(i.tolist(), j.tolist())) == brute_pairs(x, 0.9)
    assert np.all(i < j)
    np.testing.assert_allclose(s, np.einsum("nd,nd->n", x[i], x[j]), atol=1e-5)


def test_union_find_groups_chains_and_ignores_singletons():
    i = np.array([0, 5, 2, 8])
    j = np.array([3, 0, 7, 9])
    groups = sorted(sorted(g.tolist()) for g in connected_groups(10, i, j))
    assert groups == [[0, 3, 5], [2, 7], [8, 9]]
    assert connected_groups(4, np.zeros(0, np.int64), np.zeros(0, np.int64)) == []


def test_empty_and_cancelled():
    assert [a.size for a in similar_pairs(np.zeros((0, 4), np.float32), 0.5)] == [0, 0, 0]
    import threading

    from photosearch.core.search.duplicates import Cancelled

    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        similar_pairs(np.eye(4, dtype=np.float32), 0.5, cancel=stop)


# --- real photos, real model, real SQLite -----------------------------------------------------
@pytest.fixture(scope="module")
def variant_library(tmp_path_factory, real_encoder):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("dups") / "photos"
    expected: dict[str, set[str]] = {}  # original path -> paths that must be in its group
    distinct: list[str] = []
    for cls in CLASSES:
        first, *others = sorted((SAMPLE / cls).glob("*.jpg"))[:3]
        folder = root / cls
        folder.mkdir(parents=True)
        original = folder / first.name
        with Image.open(first) as im:
            rgb = ImageOps.exif_transpose(im).convert("RGB")
        f = MIN_SIDE / min(rgb.size)
        rgb = rgb.resize((round(rgb.width * f), round(rgb.height * f)), Image.Resampling.LANCZOS)
        rgb.save(original, "JPEG", quality=92)
        group = {str(original)}
        edits = root / "edits" / cls
        edits.mkdir(parents=True)
        for kind in VARIANTS:
            image, quality = make_variant(rgb, kind)
            path = edits / f"{first.stem}.{kind}.jpg"
            image.save(path, "JPEG", quality=quality)
            group.add(str(path))
        if cls in ("dog", "pizza"):  # byte-identical copies, in another folder
            copies = root / "backup" / cls
            copies.mkdir(parents=True)
            shutil.copyfile(original, copies / first.name)
            group.add(str(copies / first.name))
        expected[str(original)] = group
        for other in others:
            shutil.copyfile(other, folder / other.name)
            distinct.append(str(folder / other.name))
    db = root.parent / "lib.db"
    with Library(db) as library:
        library.add_folder(root)
        summary = Indexer(library, real_encoder).run()
        assert summary.errors == 0
        assert summary.embedded == len(CLASSES) * (1 + len(VARIANTS) + 2) + 2
    return db, expected, distinct


def test_variants_group_with_their_original_and_distinct_photos_do_not(variant_library):
    db, expected, distinct = variant_library
    with Library(db) as library:
        groups = find_duplicates(library)
    found = {frozenset(p.path for p in g.photos) for g in groups}
    assert found == {frozenset(g) for g in expected.values()}
    grouped = {p for g in found for p in g}
    assert not grouped & set(distinct)


def test_group_order_keeper_and_scores(variant_library):
    db, expected, _ = variant_library
    with Library(db) as library:
        groups = find_duplicates(library)
    for group in groups:
        keeper = group.photos[0]
        # The originals are the largest: resize50 halves them, crop10 trims them.
        assert keeper.pixels == max(p.pixels for p in group.photos)
        assert keeper.score == 1.0
        pixels = [p.pixels for p in group.photos]
        assert pixels == sorted(pixels, reverse=True)
        for p in group.photos[1:]:
            assert 0.0 < p.score <= 1.0
            if p.exact:
                assert (
                    p.score == 1.0 and Path(p.path).read_bytes() == Path(keeper.path).read_bytes()
                )
            assert not p.exact or "backup" in p.path or "backup" in keeper.path
        by_kind = {Path(p.path).name.split(".")[1]: p for p in group.photos if "edits" in p.path}
        assert set(by_kind) == set(VARIANTS)
        assert all(p.score >= DEFAULT_THRESHOLD for p in by_kind.values())
    # A byte copy of the keeper is marked exact with score 1.0. (Among photos of equal resolution
    # the largest file is the keeper, which may be an edited copy rather than the original.)
    exact = [p for g in groups for p in g.photos[1:] if p.exact]
    assert exact and {Path(p.path).parent.name for p in exact} <= {"dog", "pizza"}


def test_exact_copies_group_even_at_a_threshold_of_one(variant_library):
    db, _, _ = variant_library
    with Library(db) as library:
        groups = find_duplicates(library, threshold=1.0 + 1e-6)  # vectors alone never reach it
    assert len(groups) == 2
    for g in groups:
        assert len(g.photos) == 2 and all(p.score == 1.0 and p.exact for p in g.photos)
        assert g.reclaimable == g.photos[1].size


def test_cli_json(variant_library, capsys):
    db, expected, _ = variant_library
    capsys.readouterr()
    assert main(["duplicates", "--db", str(db), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, list) and len(data) == len(expected)
    for group in data:
        assert all({"path", "score"} <= set(item) for item in group)
        assert group[0]["score"] == 1.0
        assert frozenset(item["path"] for item in group) in {
            frozenset(g) for g in expected.values()
        }


def test_cli_threshold_and_human_output(variant_library, capsys):
    db, _, _ = variant_library
    capsys.readouterr()
    assert main(["duplicates", "--db", str(db), "--threshold", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("Group ") == 2 and "keep" in out and "same" in out
    assert "2 groups" in out
    with pytest.raises(SystemExit):
        main(["duplicates", "--db", str(db), "--threshold", "1.5"])


def test_cli_empty_library(tmp_path, capsys):
    assert main(["duplicates", "--db", str(tmp_path / "empty.db")]) == 2
    assert "library is empty" in capsys.readouterr().err


def test_trashed_photos_leave_the_groups(variant_library, tmp_path):
    db, expected, _ = variant_library
    from photosearch.core.library.photo_status import mark_missing

    work = tmp_path / "lib.db"
    shutil.copyfile(db, work)  # the module's library stays untouched
    for suffix in ("-wal", "-shm"):
        if Path(str(db) + suffix).exists():
            shutil.copyfile(str(db) + suffix, str(work) + suffix)
    with Library(work) as library:
        groups = find_duplicates(library)
        victims = [p.photo_id for g in groups for p in g.photos[1:]]
        mark_missing(library, victims)
        assert find_duplicates(library) == []
        assert library.status_counts()["missing"] == len(victims)
