"""Cost of the change check: rescanning an untouched library, and the one-time re-check by hash.

    .venv/bin/python benchmarks/rescan.py [--photos 10000] [--rounds 3]

Photos: the bundled sample photos copied (distinct files, ~15 KB each) into a temporary folder,
registered in a fresh library and marked indexed with their real content hash (no model runs):

* untouched rescan: ``sync_folders`` with nothing changed, which compares each file's stat
  signature with its row and reads no file (best of ``--rounds``);
* re-check by hash: every row's ctime and inode set to NULL, as a library from before schema 2
  has them, then one ``sync_folders`` that hashes every file once (warm file cache), then the
  untouched rescan again.

Runs on code without ctime/inode too (the re-check part is then skipped), to compare.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from photosearch.core.indexing.scanner import file_hash
from photosearch.core.library.store import Library
from photosearch.core.resources import sample_photos_dir

try:
    from photosearch.core.indexing.sync import sync_folders
except ImportError:  # code from before the one sync module, to compare
    from photosearch.core.indexing.scanner import sync_folders  # type: ignore[attr-defined,no-redef]

MODEL = "bench-model"


def make_photos(folder: Path, count: int) -> int:
    """``count`` copies of the sample photos; returns their total size in bytes."""
    sources = sorted(sample_photos_dir().rglob("*.jpg"))
    total = 0
    for i in range(count):
        src = sources[i % len(sources)]
        dest = folder / f"batch{i // 1000:03d}" / f"{i:06d}.jpg"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        total += dest.stat().st_size
    return total


def mark_indexed(library: Library) -> None:
    rows = library.reader().query("SELECT id, path FROM photos")
    hashes = [(file_hash(path), photo_id) for photo_id, path in rows]
    library.write(
        lambda db: db.executemany(
            "UPDATE photos SET status = 'indexed', model_id = ?, content_hash = ? WHERE id = ?",
            [(MODEL, digest, photo_id) for digest, photo_id in hashes],
        )
    )


def timed_scan(library: Library) -> tuple[float, float, Any]:
    """Wall-clock and CPU seconds (every thread of the process) of one scan, and its result."""
    started, cpu = time.perf_counter(), time.process_time()
    result = sync_folders(library, None, MODEL)
    return time.perf_counter() - started, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="photosearch-rescan-") as tmp:
        root = Path(tmp) / "photos"
        total = make_photos(root, args.photos)
        with Library(Path(tmp) / "lib.db") as library:
            library.add_folder(root)
            sync_folders(library, None, MODEL)
            mark_indexed(library)
            timed_scan(library)  # stores the signatures where the code keeps them
            runs = [timed_scan(library) for _ in range(args.rounds)]
            checks_hash = hasattr(runs[0][2], "rechecked")
            wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
            print(f"{args.photos} photos, {total / 1e6:.0f} MB")
            print(
                f"untouched rescan: {wall:.3f} s wall, {cpu:.3f} s CPU "
                f"({cpu / args.photos * 1e6:.0f} µs CPU a photo; best of {args.rounds})"
            )
            if not checks_hash:
                return
            library.write(lambda db: db.execute("UPDATE photos SET ctime = NULL, inode = NULL"))
            wall, cpu, result = timed_scan(library)
            assert result.rechecked == args.photos and result.updated == 0, result
            print(
                f"one-time re-check by hash: {wall:.3f} s wall, {cpu:.3f} s CPU "
                f"({total / 1e6 / wall:.0f} MB/s, warm file cache)"
            )
            wall, cpu, result = timed_scan(library)
            assert result.rechecked == 0, result
            print(f"untouched rescan after it: {wall:.3f} s wall, {cpu:.3f} s CPU")


if __name__ == "__main__":
    main()
