"""CLI queries as a user runs them: wall time and peak RSS of whole processes (issue 18's table).

    .venv/bin/python benchmarks/lean_runtime.py [--photos DIR] [--runs 5] [--before TREE]

Indexes ``--photos`` (default: the 360 bundled sample photos) once into a library under
/tmp/photosearch-bench/lean, with its own model cache. Then, each row a fresh ``python -m
photosearch`` process, ``--runs`` times after one untimed warm-up run, median wall time and
median peak RSS (``ru_maxrss`` of the child, from ``os.wait4``):

* the first run, which converts the model for OpenVINO (empty model cache; one run);
* ``similar NEWFILE`` (a dev photo not in the library), ``similar PHOTO`` (one in it) and
  ``search dog``, with the default backend (auto: OpenVINO, warm cache);
* the GUI on the library, idle after start-up: RSS (``VmRSS``) once the model has loaded
  (OpenVINO's library is mapped) and the RSS has been steady for 5 s (at most ``--gui-seconds``), and whether torch's and
  OpenVINO's libraries are mapped (``/proc/PID/maps``); median of three runs;
* baselines in the same run: ``similar NEWFILE`` with ``PHOTOSEARCH_BACKEND=torch``, and with
  ``--before TREE`` (e.g. ``git archive`` of an older commit, unpacked) the same command run by
  that code; and ``python -c "import torch"`` alone;
* with ``--encoder``, only: a batch of 32 sample photos (preprocessed once) through the
  torch-free encoder and through the torch-loaded one on OpenVINO, alternately, in one process
  (the indexer's ``encode_arrays``), and the largest difference between their vectors.
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


def gui_idle(env: dict[str, str], cwd: Path, seconds: float) -> tuple[float, str]:
    """(RSS MB, which inference libraries are mapped) of the GUI on the library once its RSS
    is steady."""
    gui_env = {**env, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "photosearch", "gui", "--db", env["PHOTOSEARCH_DB"]],
        cwd=cwd, env=gui_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    status, maps = Path(f"/proc/{proc.pid}/status"), Path(f"/proc/{proc.pid}/maps")
    rss, steady_since, start = 0.0, time.monotonic(), time.monotonic()
    mapped: set[str] = set()
    try:
        while time.monotonic() - start < seconds and proc.poll() is None:
            time.sleep(0.5)
            line = next(x for x in status.read_text().splitlines() if x.startswith("VmRSS:"))
            now = int(line.split()[1]) / 1024
            text = maps.read_text()
            mapped |= {name for name in ("libtorch_cpu", "libopenvino.") if name in text}
            if abs(now - rss) > 2:
                rss, steady_since = now, time.monotonic()
            elif time.monotonic() - steady_since > 5 and "libopenvino." in mapped:
                break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    names = {"libtorch_cpu": "torch", "libopenvino.": "OpenVINO"}
    return rss, " + ".join(sorted(names[m] for m in mapped)) or "no model"


def measure_gui(label: str, env: dict[str, str], cwd: Path, seconds: float) -> None:
    samples = [gui_idle(env, cwd, seconds) for _ in range(3)]
    rss = statistics.median(s[0] for s in samples)
    loaded = ", ".join(sorted({s[1] for s in samples}))
    print(f"| {label} (mapped: {loaded}) | | {rss:.0f} MB |", flush=True)


def compare_encoders(rounds: int = 4, repeat: int = 5) -> None:
    import numpy as np

    from photosearch.core.encoder import load_torch_encoder
    from photosearch.core.encoding import load_encoder
    from photosearch.core.imageio import open_image

    lean, through_torch = load_encoder(), load_torch_encoder(backend="openvino")
    assert type(lean).__name__ == "LeanEncoder" and through_torch.backend == "openvino"
    paths = sorted((_common.ROOT / "resources" / "sample-photos").rglob("*.jpg"))[:32]
    side = lean.preprocess.decode_side
    batch = np.stack([lean.preprocess(open_image(p, side)) for p in paths])
    times: dict[str, list[float]] = {"torch-free": [], "loaded through torch": []}
    for _ in range(rounds):
        for label, encoder in (("torch-free", lean), ("loaded through torch", through_torch)):
            times[label] += _common.timed(lambda e=encoder: e.encode_arrays(batch), repeat)
    for label, samples in times.items():
        print(f"encode_arrays, batch 32, {label}: median {statistics.median(samples) * 1e3:.0f} ms")
    a, b = lean.encode_arrays(batch), through_torch.encode_arrays(batch)
    print(f"largest difference: vectors {np.abs(a.vectors - b.vectors).max():.2g}, "
          f"probabilities {np.abs(a.probs - b.probs).max():.2g}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=_common.ROOT / "resources" / "sample-photos")
    parser.add_argument("--new-photo", type=Path, default=None, help="an image not in the library")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--before", type=Path, default=None, help="a tree of older code")
    parser.add_argument("--gui-seconds", type=float, default=60.0)
    parser.add_argument("--only-gui", action="store_true", help="measure only the GUI rows")
    parser.add_argument("--encoder", action="store_true", help="only compare the two encoders")
    args = parser.parse_args()
    if args.encoder:
        os.environ["PHOTOSEARCH_MODEL_CACHE"] = str(LEAN_TMP / "models")
        compare_encoders()
        return
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
    measure_gui("GUI, idle after start-up", env, root, args.gui_seconds)
    if args.before is not None:
        before_env = {**env, "PYTHONPATH": str(args.before.resolve())}
        measure_gui(
            f"baseline: GUI, code in {args.before}",
            before_env,
            args.before.resolve(),
            args.gui_seconds,
        )
    if args.only_gui:
        return
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
