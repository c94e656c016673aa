"""CLI queries and GUI sessions as a user has them: wall time and RSS of whole processes (issue 18).

    .venv/bin/python benchmarks/lean_runtime.py [--photos DIR] [--runs 5] [--before TREE]
        [--gui-runs 3] [--big 100000] [--only-gui | --only-steps | --encoder]

Indexes ``--photos`` (default: the 360 bundled sample photos) once into a library under
/tmp/photosearch-bench/lean (``PHOTOSEARCH_BENCH_TMP`` moves it), with its own model cache. Then, each row a fresh ``python -m
photosearch`` process, ``--runs`` times after one untimed warm-up run, median wall time and
median peak RSS (``ru_maxrss`` of the child, from ``os.wait4``):

* the first run, which converts the model for OpenVINO (empty model cache; one run);
* ``similar NEWFILE`` (a dev photo not in the library), ``similar PHOTO`` (one in it) and
  ``search dog``, with the default backend (auto: OpenVINO, warm cache);
* the GUI on the library (``GUI_CHILD``, offscreen, settings in a file of their own): RSS
  (``VmRSS``) idle once the image model has loaded, the grid is filled and the RSS has been
  steady for ``--steady`` s; then after a text query ("dog"), *Find Similar* on the first result
  and a preview of the second (its image and its strip of similar photos shown), once steady
  again; which heavy packages it imported; the snapshot's rows and bytes; and where the RSS
  goes (``/proc/self/smaps``, by mapping); median of ``--gui-runs`` runs;
* with each library, the RSS of a process after each part a GUI loads (``STEPS_CHILD``), to say
  where the memory goes; alone with ``--only-steps``;
* the same GUI session on a library of ``--big`` photos (default 100,000): the sample photos
  indexed for real, plus hard links to them (no disk space) with random vectors, written
  through the store with each file's real stat signature, so that the start-up scan finds
  nothing to do (``big_library``);
* baselines in the same run: ``similar NEWFILE`` with ``PHOTOSEARCH_BACKEND=torch``, and with
  ``--before TREE`` (e.g. ``git archive`` of an older commit, unpacked) the same commands and GUI
  sessions run by that code; and ``python -c "import torch"`` alone;
* with ``--encoder``, only: a batch of 32 sample photos (preprocessed once) through the
  torch-free encoder and through the torch-loaded one on OpenVINO, alternately, in one process
  (the indexer's ``encode_arrays``), and the largest difference between their vectors.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _common
import numpy as np

LEAN_TMP = _common.BENCH_TMP / "lean"
DEV_PHOTOS = Path("/work/shared/data/photos-dev")


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one child process; raises if it fails.

    A child's ``ru_maxrss`` starts at its parent's peak (fork copies the high-water mark), so
    this process must stay small: the big library is built in a child of its own."""
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


# Run by the GUI under test (its own code on PYTHONPATH): a session as a user has it.
GUI_CHILD = r"""
import dataclasses, json, os, sys, time
from photosearch.gui.app import make_application, open_library
from photosearch.gui.context import AppContext
from photosearch.gui.main_window import MainWindow
from photosearch.gui.qt import QSettings, QTimer
from photosearch.gui.settings import Settings

db, steady_s, limit_s, ini = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
app = make_application()
window = MainWindow(
    AppContext(open_library(db, False), Settings(QSettings(ini, QSettings.Format.IniFormat)))
)
window.resize(1360, 860)
window.start_when_painted()
window.show()
out = {}
state = {"step": "idle", "rss": 0.0, "since": time.monotonic(), "start": time.monotonic()}

def rss():
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) for x in f if x.startswith("VmRSS:")) / 1024

def steady():
    now = rss()
    if abs(now - state["rss"]) > 2:
        state["rss"], state["since"] = now, time.monotonic()
    return time.monotonic() - state["since"] >= steady_s

def where():
    parts = {}
    name = ""
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()
            if not head[0].endswith(":"):
                name = head[5] if len(head) > 5 else ""
            elif head[0] == "Rss:":
                parts[kind(name)] = parts.get(kind(name), 0) + int(head[1]) / 1024
    return {k: round(v) for k, v in sorted(parts.items(), key=lambda kv: -kv[1])}

def kind(name):
    for key, label in (("PySide6", "Qt"), ("Qt6", "Qt"), ("openvino", "OpenVINO"),
                       ("torch", "torch"), ("numpy", "numpy+OpenBLAS"), ("scipy", "scipy"),
                       (".vecidx", "matrix cache file"), ("python3", "Python"),
                       (".db", "SQLite files"), (".so", "other libraries")):
        if key in name:
            return label
    return "anonymous" if name in ("", "[heap]", "[stack]") or name.startswith("[anon") else "other"

def snapshot():
    snap = window.ctx.searcher.index.snapshot()
    arrays = [getattr(snap, f.name) for f in dataclasses.fields(snap)]
    return len(snap), sum(a.nbytes for a in arrays if hasattr(a, "nbytes"))

def tick():
    results, title = window.results, window.results.title.text()
    step = state["step"]
    if time.monotonic() - state["start"] > limit_s:
        out["error"] = f"timed out at step {step!r} (title {title!r})"
        return finish()
    if step == "idle":
        if window.ctx.models.ready and results.model.rowCount() and not window.ctx.indexing.running:
            if steady():
                out["idle"] = state["rss"]
                out["idle_s"] = time.monotonic() - state["start"]
                state["step"] = "text"
                window.search_bar.set_text("dog")
    elif step == "text":
        if "dog" in title and results.model.rowCount():
            state["step"] = "similar"
            window.find_similar(results.path_at(0))
    elif step == "similar":
        if title.startswith("Similar to") and results.model.rowCount() > 2:
            state["step"] = "preview"
            window.show_preview(1)
    elif step == "preview":
        preview = window._preview
        if preview.image.has_image() and preview.strip_model.rowCount():
            state["step"] = "after"
            state["rss"] = 0.0
    elif step == "after" and steady():
        out["after"] = state["rss"]
        return finish()

def finish():
    timer.stop()
    out["rows"], out["snapshot_bytes"] = snapshot()
    out["heavy"] = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "gensim", "scipy"})
    out["where"] = where()
    print("RESULT " + json.dumps(out), flush=True)
    window.close()
    app.quit()

timer = QTimer()
timer.timeout.connect(tick)
timer.start(250)
app.exec()
"""


def gui_session(
    env: dict[str, str], cwd: Path, db: Path, steady_s: float, limit_s: float
) -> dict[str, object]:
    """One GUI session (``GUI_CHILD``); its measurements."""
    ini = LEAN_TMP / "gui-settings.ini"
    ini.unlink(missing_ok=True)
    gui_env = {**env, "QT_QPA_PLATFORM": "offscreen", "PHOTOSEARCH_DB": str(db)}
    proc = subprocess.run(
        [sys.executable, "-c", GUI_CHILD, str(db), str(steady_s), str(limit_s), str(ini)],
        cwd=cwd, env=gui_env, capture_output=True, text=True, timeout=limit_s + 120,
    )  # fmt: skip
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"GUI session failed ({proc.returncode}): {proc.stderr[-3000:]}")
    result: dict[str, object] = json.loads(lines[-1][7:])
    if "error" in result:
        raise RuntimeError(f"GUI session: {result['error']}; {proc.stderr[-2000:]}")
    return result


# Where a GUI's memory goes: the RSS after each part it loads, in the order it loads them.
STEPS_CHILD = r"""
import sys
def rss():
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) for x in f if x.startswith("VmRSS:")) / 1024
steps = [("Python", rss())]
def step(name):
    steps.append((name, rss()))
import numpy
step("numpy")
from photosearch.gui.qt import QApplication
app = QApplication([])
import photosearch.gui.main_window
step("Qt, QApplication and the GUI's modules")
from photosearch.core.vision.loader import load_encoder
encoder = load_encoder()
encoder.encode_paths([sys.argv[2]])
step("image model (one photo encoded)")
from photosearch.core.text.semantic import default_model
model = default_model()
step("word space, WordNet, the classes in the word space")
from photosearch.core.library.store import Library
from photosearch.core.library.vector_index import VectorIndex
index = VectorIndex(Library(sys.argv[1]), cache_dir=False)
snap = index.snapshot()
step(f"snapshot of {len(snap):,} photos")
from photosearch.core.text.query import LibraryArrays, compile_query, score_query
arrays = LibraryArrays(snap.semantic, snap.top_ids, snap.top_probs, snap.visual)
score_query(compile_query("dog", model), arrays)
arrays.postings()
step("first text query (class postings)")
print("STEPS " + "; ".join(f"{n} +{b - a:.0f}" for (_, a), (n, b) in zip(steps, steps[1:]))
      + f"; total {steps[-1][1]:.0f} MB (Python alone {steps[0][1]:.0f})")
"""


def memory_steps(env: dict[str, str], db: Path, photo: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", STEPS_CHILD, str(db), str(photo)],
        cwd=_common.ROOT, env={**env, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(x for x in proc.stdout.splitlines() if x.startswith("STEPS "))
    print(f"   RSS by part, {db.parent.name}/{db.name}: {line[6:]}", flush=True)


def report_gui(label: str, samples: list[dict[str, object]]) -> None:
    idle = statistics.median(float(s["idle"]) for s in samples)  # type: ignore[arg-type]
    after = statistics.median(float(s["after"]) for s in samples)  # type: ignore[arg-type]
    last = samples[-1]
    rows, nbytes = int(last["rows"]), int(last["snapshot_bytes"])  # type: ignore[call-overload]
    heavy = ", ".join(last["heavy"]) or "none"  # type: ignore[arg-type]
    print(
        f"| {label} | {idle:.0f} MB | {after:.0f} MB | {rows:,} rows, "
        f"{nbytes / max(rows, 1):,.0f} B/photo | {heavy} |",
        flush=True,
    )
    print(f"   where the RSS goes after the session (MB, last run): {last['where']}", flush=True)


def copy_library(db: Path, to: Path) -> Path:
    """A copy for the other code: each writes its own matrix-cache token into the database."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(to) + suffix).unlink(missing_ok=True)
        if Path(str(db) + suffix).exists():
            shutil.copy2(str(db) + suffix, str(to) + suffix)
    return to


def big_library(n: int, env: dict[str, str], photos: Path) -> Path:
    """``build_big_library`` in a child process (see ``run_once``)."""
    db = LEAN_TMP / f"big-{n}" / "library.db"
    if not (db.parent / "done").exists():
        code = "import sys, lean_runtime as m; m.build_big_library(int(sys.argv[1]), sys.argv[2])"
        subprocess.run(
            [sys.executable, "-c", code, str(n), str(photos)],
            cwd=Path(__file__).parent, env=env, check=True,
        )  # fmt: skip
    return db


def build_big_library(n: int, photos_dir: str) -> None:
    """A library of ``n`` photos: ``photos`` indexed for real, plus ``n`` - their count hard
    links to them with random vectors (in the real model's and word space's dimensions, under
    their ids), each row with its file's stat signature, so a start-up scan changes nothing."""
    from photosearch.core.library.embeddings import Embedded, write_embeddings
    from photosearch.core.library.store import Library

    photos = Path(photos_dir)
    env = dict(os.environ)
    root = LEAN_TMP / f"big-{n}"
    db = root / "library.db"
    done = root / "done"
    shutil.rmtree(root, ignore_errors=True)
    sources = sorted(p for p in photos.rglob("*.jpg"))
    originals = root / "photos"
    for src in sources:
        target = originals / src.relative_to(photos)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    copies = sorted(originals.rglob("*.jpg"))
    links = root / "links"
    extra = n - len(copies)
    paths = [links / f"{i // 1000:03d}" / f"IMG_{i:06d}.jpg" for i in range(extra)]
    for i, path in enumerate(paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        os.link(copies[i % len(copies)], path)
    # Indexed after linking: a new link changes its file's ctime, which the scan compares.
    big_env = {**env, "PHOTOSEARCH_DB": str(db)}
    cli = [sys.executable, "-m", "photosearch"]
    subprocess.run([*cli, "index", str(originals)], env=big_env, cwd=_common.ROOT, check=True)
    rng = np.random.default_rng(0)
    with Library(db) as library:
        model = library.meta("visual_model")
        dv = int(library.meta("visual_model_dim", "0") or 0)
        ds = int(library.meta("semantic_space_dim", "0") or 0)
        assert model and dv and ds, "the indexed library has no model or word space"
        folder = library.add_folder(links)
        for start in range(0, extra, 5000):
            chunk = paths[start : start + 5000]
            stats = [p.stat() for p in chunk]

            def add(db, chunk=chunk, stats=stats):  # type: ignore[no-untyped-def]
                # library.write runs this inside one transaction
                first = int(db.scalar("SELECT COALESCE(MAX(id), 0) FROM photos")) + 1
                db.executemany(
                    "INSERT INTO photos(id, folder_id, path, size, mtime, status, added_at) "
                    "VALUES (?, ?, ?, ?, ?, 'pending', 0)",
                    [(first + j, folder.id, str(Path(folder.path) / p.relative_to(links)),
                      st.st_size, st.st_mtime)
                     for j, (p, st) in enumerate(zip(chunk, stats))],
                )  # fmt: skip
                top_ids, top_probs = _common.random_classes(rng, len(chunk))
                visual = _common.unit_rows(rng, len(chunk), dv)
                semantic = _common.unit_rows(rng, len(chunk), ds)
                rows = [
                    Embedded(first + j, st.st_size, st.st_mtime, f"{first + j:032x}", 300,
                             200, None, None, visual[j], top_ids[j], top_probs[j],
                             semantic[j], st.st_ctime, st.st_ino)
                    for j, st in enumerate(stats)
                ]  # fmt: skip
                write_embeddings(db, model, rows)

            library.write(add)
        library.writer.call(lambda db: db.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
    done.write_text("ok\n")


def compare_encoders(rounds: int = 4, repeat: int = 5) -> None:
    import numpy as np

    from photosearch.core.vision.encoder import load_torch_encoder
    from photosearch.core.vision.imageio import open_image
    from photosearch.core.vision.loader import load_encoder

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
    parser.add_argument("--gui-runs", type=int, default=3)
    parser.add_argument("--steady", type=float, default=5.0, help="seconds of steady RSS")
    parser.add_argument("--big", type=int, default=100_000, help="photos in the big library")
    parser.add_argument("--only-gui", action="store_true", help="measure only the GUI rows")
    parser.add_argument("--only-steps", action="store_true", help="only the RSS by part")
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
    before = args.before.resolve() if args.before is not None else None
    before_env = {**env, "PYTHONPATH": str(before)} if before is not None else {}
    print(f"== CLI queries, load avg {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs", flush=True)
    subprocess.run([*cli, "index", str(args.photos)], env=env, cwd=root, check=True)
    count = len([p for p in args.photos.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg"}])
    print(f"library: {count} photos from {args.photos}; NEWFILE {new_photo}; PHOTO {photo}")

    if args.only_steps:
        memory_steps(env, LEAN_TMP / "library.db", photo)
        if args.big:
            memory_steps(env, big_library(args.big, env, args.photos), photo)
        return
    print("| GUI session | idle | after text query, Find Similar, preview | snapshot | heavy |")
    print("|---|---:|---:|---:|---|")
    libraries = [("sample library", LEAN_TMP / "library.db")]
    if args.big:
        libraries.append((f"{args.big:,} photos", big_library(args.big, env, args.photos)))
    for name, db in libraries:
        trees = [("this code", env, root, db)]
        if before is not None:
            copy = copy_library(db, db.with_name(f"before-{db.name}"))
            trees.append((f"code in {before}", before_env, before, copy))
        samples: dict[str, list[dict[str, object]]] = {label: [] for label, *_ in trees}
        for _ in range(args.gui_runs):  # alternately, so that load drifts hit both
            for label, tree_env, cwd, tree_db in trees:
                samples[label].append(gui_session(tree_env, cwd, tree_db, args.steady, 600))
        for label, runs in samples.items():
            report_gui(f"{name}, {label}", runs)
        memory_steps(env, db, photo)
    if args.only_gui:
        return
    print(
        f"this process's peak RSS, a floor for the children's: {_common.peak_rss_mb():.0f} MB "
        f"(load avg {os.getloadavg()[0]:.2f})"
    )
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
    if before is not None:
        for label, argv in (
            ("similar NEWFILE", [*cli, "similar", str(new_photo)]),
            ("search dog", [*cli, "search", "dog"]),
            ("tags NEWFILE", [*cli, "tags", str(new_photo)]),
        ):
            measure(f"baseline: {label}, code in {before}", argv, before_env, before, args.runs)
    measure("import torch alone", [sys.executable, "-c", "import torch"], env, root, args.runs)


if __name__ == "__main__":
    main()
