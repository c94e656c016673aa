"""CLI queries as a user runs them: wall time and peak RSS of whole processes (issue 18's table).

    .venv/bin/python benchmarks/lean_runtime.py [--photos DIR] [--runs 5] [--before TREE]

Indexes ``--photos`` (default: the 360 bundled sample photos) once into a library under
/tmp/photosearch-bench/lean, with its own model cache. Then, each row a fresh ``python -m
photosearch`` process, ``--runs`` times after one untimed warm-up run, median wall time and
median peak RSS (``ru_maxrss`` of the child, from ``os.wait4``):

* the first run, which converts the model for OpenVINO (empty model cache; one run);
* ``similar NEWFILE`` (a dev photo not in the library), ``similar PHOTO`` (one in it) and
  ``search dog``, with the default backend (auto: OpenVINO, warm cache);
* baselines in the same run: ``similar NEWFILE`` with ``PHOTOSEARCH_BACKEND=torch``, and with
  ``--before TREE`` (e.g. ``git archive`` of an older commit, unpacked) the same command run by
  that code; and ``python -c "import torch"`` alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _common

LEAN_TMP = _common.BENCH_TMP / "lean"
DEV_PHOTOS = Path("/work/shared/data/photos-dev")


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one child process; raises if it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def measure(
    label: str, argv: list[str], env: dict[str, str], cwd: Path, runs: int, warmup: int = 1
) -> tuple[float, float]:
    for _ in range(warmup):
        run_once(argv, env, cwd)
    samples = [run_once(argv, env, cwd) for _ in range(runs)]
    wall = statistics.median(s[0] for s in samples)
    rss = statistics.median(s[1] for s in samples)
    spread = f"{min(s[0] for s in samples):.2f}–{max(s[0] for s in samples):.2f}"
    print(f"| {label} | {wall:.2f} s ({spread}) | {rss:.0f} MB |", flush=True)
    return wall, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=_common.ROOT / "resources" / "sample-photos")
    parser.add_argument("--new-photo", type=Path, default=None, help="an image not in the library")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", type=Path, default=None, help="a tree of older code")
    args = parser.parse_args()
    new_photo = args.new_photo or sorted(DEV_PHOTOS.glob("dog/*.jpg"))[0]
    photo = sorted(args.photos.glob("dog/*.jpg"))[0]

    LEAN_TMP.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(_common.ROOT),
        "PHOTOSEARCH_DB": str(LEAN_TMP / "library.db"),
        "PHOTOSEARCH_CACHE": str(LEAN_TMP / "cache"),
        "PHOTOSEARCH_MODEL_CACHE": str(LEAN_TMP / "models"),
    }
    env.pop("PHOTOSEARCH_BACKEND", None)
    cli = [sys.executable, "-m", "photosearch"]
    root = _common.ROOT
    print(f"== CLI queries, load avg {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs", flush=True)
    subprocess.run([*cli, "index", str(args.photos)], env=env, cwd=root, check=True)
    count = len([p for p in args.photos.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg"}])
    print(f"library: {count} photos from {args.photos}; NEWFILE {new_photo}; PHOTO {photo}")

    print("| command | wall, median (range) | peak RSS, median |")
    print("|---|---:|---:|")
    first = LEAN_TMP / "models-first"
    shutil.rmtree(first, ignore_errors=True)
    cold = {**env, "PHOTOSEARCH_MODEL_CACHE": str(first)}
    measure(
        "first run: similar NEWFILE, converts the model", [*cli, "similar", str(new_photo)],
        cold, root, runs=1, warmup=0,
    )  # fmt: skip
    measure("similar NEWFILE", [*cli, "similar", str(new_photo)], env, root, args.runs)
    measure("similar PHOTO", [*cli, "similar", str(photo)], env, root, args.runs)
    measure("search dog", [*cli, "search", "dog"], env, root, args.runs)
    measure("tags NEWFILE", [*cli, "tags", str(new_photo)], env, root, args.runs)
    torch_env = {**env, "PHOTOSEARCH_BACKEND": "torch"}
    measure(
        "baseline: similar NEWFILE, PHOTOSEARCH_BACKEND=torch",
        [*cli, "similar", str(new_photo)], torch_env, root, args.runs,
    )  # fmt: skip
    if args.before is not None:
        before_env = {**env, "PYTHONPATH": str(args.before.resolve())}
        measure(
            f"baseline: similar NEWFILE, code in {args.before}",
            [*cli, "similar", str(new_photo)], before_env, args.before.resolve(), args.runs,
        )  # fmt: skip
        measure(
            f"baseline: search dog, code in {args.before}",
            [*cli, "search", "dog"], before_env, args.before.resolve(), args.runs,
        )  # fmt: skip
    measure("import torch alone", [sys.executable, "-c", "import torch"], env, root, args.runs)


if __name__ == "__main__":
    main()
