"""Benchmark: from a photo landing in a watched folder to being searchable, with the real model.

Starts a :class:`~photosearch.core.indexing.watcher.WatchService` (default settings unless overridden) on
an empty temporary folder, waits for it to be idle (model loaded), then copies sample photos in
one at a time. For each, the clock runs from just before the copy starts to the moment the photo
is in the search index (``VectorIndex.snapshot()``, what a query sees). Reports the median and
the spread. Then a burst: ``--burst`` photos copied in at once, timed until all are searchable.

    .venv/bin/python benchmarks/watch_latency.py [-n 20] [--burst 100] [--debounce S] [--settle S]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photosearch.core.indexing.watcher import WatchService  # noqa: E402
from photosearch.core.library.store import Library  # noqa: E402
from photosearch.core.library.vector_index import VectorIndex  # noqa: E402
from photosearch.core.resources import sample_photos_dir  # noqa: E402
from photosearch.core.vision.loader import load_encoder  # noqa: E402


def searchable(library: Library, index: VectorIndex, path: Path) -> bool:
    photo = library.photo_by_path(path)
    if photo is None or photo.status != "indexed":
        return False
    index.refresh()
    return bool((index.snapshot().ids == photo.id).any())


def wait_until(condition, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the photo never became searchable")
        time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="photos timed one by one")
    parser.add_argument("--burst", type=int, default=100, help="photos copied in at once (0: skip)")
    parser.add_argument("--debounce", type=float, default=None)
    parser.add_argument("--settle", type=float, default=None)
    args = parser.parse_args()
    timing = {
        k: v for k, v in (("debounce", args.debounce), ("settle", args.settle)) if v is not None
    }

    import os

    import torch

    print(
        f"== watch latency: {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"load avg {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    samples = sorted(sample_photos_dir().glob("*/*.jpg"))
    picks = samples[:: max(1, len(samples) // args.n)][: args.n]
    with tempfile.TemporaryDirectory(prefix="photosearch-watch-") as tmp:
        root = Path(tmp) / "photos"
        root.mkdir()
        with Library(Path(tmp) / "lib.db") as library:
            library.add_folder(root)
            started = time.perf_counter()
            encoder = load_encoder()
            print(f"   model {encoder.model_id} loaded in {time.perf_counter() - started:.1f}s")
            service = WatchService(library, lambda: encoder, **timing)  # type: ignore[arg-type]
            print(
                f"   service: debounce {service.debounce}s, settle {service.settle}s, "
                f"decode workers {service.decode_workers}, nice +{service.nice}",
                flush=True,
            )
            service.start()
            assert service.wait_idle(120)
            index = VectorIndex(library)
            latencies = []
            for i, src in enumerate(picks):
                dest = root / f"{i:03d}_{src.name}"
                t0 = time.perf_counter()
                shutil.copyfile(src, dest)
                wait_until(lambda dest=dest: searchable(library, index, dest))
                latencies.append(time.perf_counter() - t0)
                service.wait_idle(10)
            lat = sorted(latencies)
            print(
                f"   landing -> searchable, {len(lat)} photos one at a time: "
                f"median {statistics.median(lat):.2f}s, min {lat[0]:.2f}s, max {lat[-1]:.2f}s"
            )
            if args.burst:
                burst = root / "burst"
                burst.mkdir()
                t0 = time.perf_counter()
                dests = []
                for i in range(args.burst):
                    dest = burst / f"b{i:04d}.jpg"
                    shutil.copyfile(samples[i % len(samples)], dest)
                    dests.append(dest)
                copied = time.perf_counter() - t0
                wait_until(lambda: library.status_counts()["indexed"] == len(picks) + args.burst)
                index.refresh()
                total = time.perf_counter() - t0
                print(
                    f"   burst of {args.burst}: copied in {copied:.2f}s, all searchable after "
                    f"{total:.2f}s ({args.burst / total:.1f} photos/s)"
                )
            service.stop()


if __name__ == "__main__":
    main()
