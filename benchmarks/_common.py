"""Shared helpers for the benchmarks: timing, ratios, memory, synthetic libraries.

Every benchmark prints ratios against a baseline measured in the same run: the machine is shared
and noisy, so absolute figures drift between runs while ratios stay meaningful.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_TMP = Path(os.environ.get("PHOTOSEARCH_BENCH_TMP", "/tmp/photosearch-bench"))
SEMANTIC_DIM = 50  # GloVe 50d
SYNTH_VISUAL_MODEL = "synthetic-bench"
SYNTH_SEMANTIC_SPACE = "synthetic-bench-glove50"


def header(title: str) -> None:
    import torch

    print(f"== {title}")
    print(
        f"   python {sys.version.split()[0]}, torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
        f"load avg {os.getloadavg()[0]:.2f}",
        flush=True,
    )


def timed(fn: Callable[[], Any], repeat: int, warmup: int = 1) -> list[float]:
    """Seconds per call, ``repeat`` times after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def mean_p95(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    p95 = s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]
    return statistics.fmean(s), p95


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def drop_page_cache() -> bool:
    """Drop the OS file cache (needs root); returns whether it worked."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def random_classes(rng: np.random.Generator, n: int, k: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(n, k) distinct class ids per row (Zipf-like popularity, as in real libraries) and
    descending probabilities summing to < 1."""
    popularity = 1.0 / np.arange(1, 1001) ** 0.7
    keys = rng.random((n, 1000), dtype=np.float32) ** (1.0 / popularity[rng.permutation(1000)])
    ids = np.argpartition(-keys, k - 1, axis=1)[:, :k]
    probs = rng.exponential(1.0, (n, k)).astype(np.float32) ** 3
    probs /= probs.sum(axis=1, keepdims=True) * 1.05
    probs = -np.sort(-probs, axis=1)
    return ids.astype(np.uint16), probs.astype(np.float32)


def build_synthetic_library(path: Path, n: int, seed: int = 0, batch: int = 5000) -> float:
    """Create a library of ``n`` synthetic indexed photos through the real store (photos rows,
    then ``write_embeddings`` in batches on the writer thread). Returns the seconds it took."""
    from photosearch.core.library.db import Database
    from photosearch.core.library.embeddings import Embedded, write_embeddings
    from photosearch.core.library.store import Library
    from photosearch.core.library.vectors import SEMANTIC_TABLE, VISUAL_TABLE, ensure_vector_table
    from photosearch.core.vision.encoder import SEARCH_DIM

    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    with Library(path) as library:

        def setup(db: Database) -> None:
            ensure_vector_table(db, VISUAL_TABLE, SEARCH_DIM, SYNTH_VISUAL_MODEL, "visual_model")
            ensure_vector_table(
                db, SEMANTIC_TABLE, SEMANTIC_DIM, SYNTH_SEMANTIC_SPACE, "semantic_space"
            )
            db.execute(
                "INSERT INTO folders(id, path, added_at) VALUES (1, '/synthetic', ?)",
                (time.time(),),
            )

        library.write(setup)
        pending = []
        for start in range(0, n, batch):
            count = min(batch, n - start)
            ids = np.arange(start + 1, start + count + 1)
            visual = unit_rows(rng, count, SEARCH_DIM)
            semantic = unit_rows(rng, count, SEMANTIC_DIM)
            top_ids, top_probs = random_classes(rng, count)
            mtimes = 1.3e9 + rng.random(count) * 4e8
            photos = [
                (int(i), f"/synthetic/{int(i) // 1000:05d}/IMG_{int(i):07d}.jpg", float(m))
                for i, m in zip(ids, mtimes)
            ]
            rows = [
                Embedded(
                    int(ids[j]),
                    3_000_000,
                    float(mtimes[j]),
                    f"{int(ids[j]):032x}",
                    4000,
                    3000,
                    float(mtimes[j]) if j % 3 else None,
                    "Synthetic Cam" if j % 2 else None,
                    visual[j],
                    top_ids[j],
                    top_probs[j],
                    semantic[j],
                )
                for j in range(count)
            ]

            def write(db: Database, photos=photos, rows=rows) -> None:
                with db.transaction():
                    db.executemany(
                        "INSERT INTO photos(id, folder_id, path, size, mtime, status, added_at) "
                        "VALUES (?, 1, ?, 3000000, ?, 'pending', 0)",
                        photos,
                    )
                    write_embeddings(db, SYNTH_VISUAL_MODEL, rows)

            pending.append(library.writer.submit(write))
            while len(pending) > 2:
                pending.pop(0).result()
            if (start // batch) % 20 == 0:
                print(
                    f"   built {start + count:,}/{n:,} ({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
        for f in pending:
            f.result()
        library.writer.call(lambda db: db.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
    return time.perf_counter() - started


def synthetic_library(n: int, rebuild: bool = False) -> tuple[Path, float | None]:
    """The cached synthetic library of ``n`` photos; (path, build seconds or None if cached)."""
    path = BENCH_TMP / f"synthetic-{n}.db"
    done = BENCH_TMP / f"synthetic-{n}.done"
    if path.exists() and done.exists() and not rebuild:
        return path, None
    seconds = build_synthetic_library(path, n)
    done.write_text(f"{seconds:.1f}\n")
    return path, seconds


def cached_build_seconds(n: int) -> float | None:
    done = BENCH_TMP / f"synthetic-{n}.done"
    try:
        return float(done.read_text())
    except (OSError, ValueError):
        return None
