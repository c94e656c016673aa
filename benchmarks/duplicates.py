"""Benchmark: near-duplicate grouping over a synthetic library.

Random 256-d unit vectors (like the index's visual vectors) with planted near-duplicate pairs and
small bursts at known similarities. Times the blocked matrix product + union-find on the matrix
(``photosearch.core.search.duplicates.similar_pairs`` / ``connected_groups``) and checks that every planted
group is found and nothing else is.

With ``--store`` the vectors are first written through the real store's write path
(``store.write_embeddings`` into a temporary SQLite file) and the timed call is the full
``find_duplicates(library)``: loading the snapshot, hashes and photo rows included.

    .venv/bin/python benchmarks/duplicates.py [-n 100000] [--store]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photosearch.core.search.duplicates import (  # noqa: E402
    DEFAULT_THRESHOLD,
    connected_groups,
    find_duplicates,
    similar_pairs,
)

DIM = 256


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def near(v: np.ndarray, cos: float, rng: np.random.Generator) -> np.ndarray:
    """A unit vector at cosine similarity ``cos`` from unit vector ``v``."""
    noise = rng.standard_normal(v.shape[-1])
    noise -= (noise @ v) * v
    noise = unit(noise)
    return unit(cos * v + np.sqrt(1 - cos**2) * noise)


def synthetic(
    n: int, pairs: int, bursts: int, threshold: float, seed: int = 0
) -> tuple[np.ndarray, list[set[int]]]:
    """(n, DIM) vectors; planted groups as sets of row indices."""
    rng = np.random.default_rng(seed)
    x = unit(rng.standard_normal((n, DIM)))
    rows = rng.permutation(n)
    planted: list[set[int]] = []
    pos = 0
    for _ in range(pairs):
        a, b = int(rows[pos]), int(rows[pos + 1])
        pos += 2
        x[b] = near(x[a], float(rng.uniform(threshold + 0.02, 0.999)), rng)
        planted.append({a, b})
    for _ in range(bursts):  # 3-5 shots, each close to the first
        size = int(rng.integers(3, 6))
        members = [int(r) for r in rows[pos : pos + size]]
        pos += size
        for m in members[1:]:
            x[m] = near(x[members[0]], float(rng.uniform(threshold + 0.06, 0.99)), rng)
        planted.append(set(members))
    return x, planted


def check(found: list[set[int]], planted: list[set[int]]) -> str:
    want = {frozenset(g) for g in planted}
    got = {frozenset(g) for g in found}
    return f"planted {len(want)}, found {len(got)}, exact matches {len(want & got)}, extra {len(got - want)}"


def bench_matrix(x: np.ndarray, planted: list[set[int]], threshold: float) -> float:
    t0 = time.perf_counter()
    i, j, _ = similar_pairs(x, threshold)
    t1 = time.perf_counter()
    groups = connected_groups(len(x), i, j)
    t2 = time.perf_counter()
    print(f"matrix: {len(x):,} vectors, {len(i):,} pairs >= {threshold}")
    print(f"  similar_pairs   {t1 - t0:7.1f} s")
    print(f"  union-find      {t2 - t1:7.2f} s")
    print(f"  {check([set(g.tolist()) for g in groups], planted)}")
    return t2 - t0


def bench_store(x: np.ndarray, planted: list[set[int]], threshold: float) -> float:
    from photosearch.core.library.embeddings import Embedded, write_embeddings
    from photosearch.core.library.meta import bump_seq
    from photosearch.core.library.store import Library
    from photosearch.core.library.vectors import VISUAL_TABLE, ensure_vector_table

    model = "synthetic-256"
    n = len(x)
    with tempfile.TemporaryDirectory() as tmp, Library(Path(tmp) / "lib.db") as library:
        folder = library.add_folder(tmp)
        t0 = time.perf_counter()

        def register(db):  # type: ignore[no-untyped-def]
            ensure_vector_table(db, VISUAL_TABLE, DIM, model, "visual_model")
            seq = bump_seq(db)
            db.executemany(
                "INSERT INTO photos(id, folder_id, path, size, mtime, status, added_at, seq) "
                "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                [
                    (r + 1, folder.id, os.path.join(tmp, f"p{r:06d}.jpg"), 1000, 0.0, 0.0, seq)
                    for r in range(n)
                ],
            )

        library.write(register)
        empty_ids = np.zeros(32, np.uint16)
        empty_probs = np.zeros(32, np.float32)
        for start in range(0, n, 2000):
            batch = [
                Embedded(
                    r + 1,
                    1000 + r,
                    0.0,
                    f"h{r}",
                    640,
                    480,
                    None,
                    None,
                    x[r],
                    empty_ids,
                    empty_probs,
                )
                for r in range(start, min(n, start + 2000))
            ]
            library.write(lambda db, b=batch: write_embeddings(db, model, b))
        t1 = time.perf_counter()
        print(f"store: wrote {n:,} photos + vectors in {t1 - t0:.0f} s")
        groups = find_duplicates(library, threshold)
        t2 = time.perf_counter()
    found = [{p.photo_id - 1 for p in g.photos} for g in groups]
    print(f"  find_duplicates {t2 - t1:7.1f} s (snapshot load + pairs + groups + photo rows)")
    print(f"  {check(found, planted)}")
    return t2 - t1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, help="planted pairs (default n/50)")
    parser.add_argument("--bursts", type=int, help="planted bursts of 3-5 (default n/330)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--store", action="store_true", help="go through a real SQLite library")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    pairs = args.n // 50 if args.pairs is None else args.pairs
    bursts = args.n // 330 if args.bursts is None else args.bursts
    x, planted = synthetic(args.n, pairs, bursts, args.threshold)
    if args.store:
        bench_store(x, planted, args.threshold)
    else:
        bench_matrix(x, planted, args.threshold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
