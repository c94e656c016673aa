"""Cost of keeping the search snapshot current while photos are being indexed.

    .venv/bin/python benchmarks/index_refresh.py [--photos 100000] [--batches 20] [--rounds 2]

A copy of the cached synthetic library (see benchmarks/search.py) gets batches of 32 new photos
written through the real store, as the indexer commits them; after each batch
``VectorIndex.refresh()`` is timed, as the next search during indexing would run it. Two ways
of applying an append are compared in the same run, alternately:

* baseline: copy the whole snapshot with the new rows (what the index did before);
* the app: write the new rows into spare rows after the snapshot (``VectorIndex._append``).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import _common
import numpy as np

from photosearch.core.library import snapshot
from photosearch.core.library.db import Database
from photosearch.core.library.embeddings import Embedded, write_embeddings
from photosearch.core.library.store import Library
from photosearch.core.library.vector_index import VectorIndex
from photosearch.core.vision.encoder import SEARCH_DIM

BATCH = 32


def add_batch(library: Library, first_id: int, rng: np.random.Generator) -> None:
    ids = range(first_id, first_id + BATCH)
    visual = _common.unit_rows(rng, BATCH, SEARCH_DIM)
    semantic = _common.unit_rows(rng, BATCH, _common.SEMANTIC_DIM)
    top_ids, top_probs = _common.random_classes(rng, BATCH)
    rows = [
        Embedded(
            i,
            3_000_000,
            1.5e9,
            f"{i:032x}",
            4000,
            3000,
            None,
            None,
            visual[j],
            top_ids[j],
            top_probs[j],
            semantic[j],
        )  # fmt: skip
        for j, i in enumerate(ids)
    ]

    def write(db: Database) -> None:
        with db.transaction():
            db.executemany(
                "INSERT INTO photos(id, folder_id, path, size, mtime, status, added_at) "
                "VALUES (?, 1, ?, 3000000, 1.5e9, 'pending', 0)",
                [(i, f"/synthetic/new/IMG_{i:07d}.jpg") for i in ids],
            )
            write_embeddings(db, _common.SYNTH_VISUAL_MODEL, rows)

    library.writer.call(write)


def run(source: Path, work: Path, n: int, batches: int, copy_every_time: bool) -> list[float]:
    db_path = work / f"refresh-{time.monotonic_ns()}.db"
    shutil.copy2(source, db_path)
    original = VectorIndex._append
    if copy_every_time:
        VectorIndex._append = lambda self, old, fresh: self._install(  # type: ignore[method-assign]
            snapshot.merge(old, slice(None), fresh)
        )
    try:
        rng = np.random.default_rng(1)
        with Library(db_path) as library:
            index = VectorIndex(library, cache_dir=False)
            assert len(index.snapshot()) == n
            times = []
            for b in range(batches):
                add_batch(library, n + 1 + b * BATCH, rng)
                t = time.perf_counter()
                index.refresh()
                times.append(time.perf_counter() - t)
            assert len(index.snapshot()) == n + batches * BATCH
            return times
    finally:
        VectorIndex._append = original  # type: ignore[method-assign]
        for suffix in ("", "-wal", "-shm"):
            Path(str(db_path) + suffix).unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=100_000)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    _common.header(f"refreshing the search snapshot of {args.photos:,} photos while indexing")
    source, _ = _common.synthetic_library(args.photos)
    work = Path(tempfile.mkdtemp(prefix="photosearch-refresh-", dir=_common.BENCH_TMP))
    results: dict[str, list[float]] = {"copy per batch (baseline)": [], "append (app)": []}
    try:
        for _ in range(args.rounds):
            for name, copy_every_time in (
                ("copy per batch (baseline)", True),
                ("append (app)", False),
            ):
                results[name] += run(source, work, args.photos, args.batches, copy_every_time)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = float(np.median(results["copy per batch (baseline)"]))
    for name, times in results.items():
        mean, p95 = _common.mean_p95(times)
        median = float(np.median(times))
        print(
            f"   {name:28s} refresh after a batch of {BATCH}: median {median * 1000:7.1f} ms, "
            f"mean {mean * 1000:7.1f} ms, p95 {p95 * 1000:7.1f} ms  ({base / median:.1f}x faster "
            f"than the baseline)"
        )
    print(f"   peak RSS {_common.peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
