"""GUI figures (a benchmark, not a test): launch to first window paint, and query to painted grid
on a synthetic library.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_startup.py [--photos 10000] [--runs 3]

(or under Xvfb with ``DISPLAY=:99 QT_QPA_PLATFORM=xcb``). The synthetic library holds
``--photos`` rows pointing at symlinks to the bundled sample photos, with random unit vectors
and random class probabilities written through the store, so no model is needed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = """
import sys, time
from photosearch.gui.app import make_application, open_library
from photosearch.gui.context import AppContext
from photosearch.gui.main_window import MainWindow
from photosearch.gui.qt import QEvent, QObject, QTimer
from photosearch.gui.settings import Settings

app = make_application()
window = MainWindow(AppContext(open_library(sys.argv[1], False), Settings()))

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print(time.time(), "torch" in sys.modules, flush=True)
            window.removeEventFilter(self)
            QTimer.singleShot(0, app.quit)
        return super().eventFilter(obj, event)

probe = FirstPaint()
window.installEventFilter(probe)
window.start_when_painted()
window.show()
app.exec()
window.shutdown()
"""


def startup(db: Path, runs: int) -> tuple[float, bool]:
    times, torch_loaded = [], False
    for _ in range(runs):
        started = time.time()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(db)], capture_output=True, text=True, check=True
        )
        painted, torch = out.stdout.split()[:2]
        times.append(float(painted) - started)
        torch_loaded |= torch == "True"
    return statistics.median(times), torch_loaded


def synthesise(db: Path, n: int, folder: Path) -> None:
    """``n`` indexed photos with random vectors, written through the store."""
    from photosearch.core.library.embeddings import Embedded, write_embeddings
    from photosearch.core.library.rows import path_to_db
    from photosearch.core.library.store import Library
    from photosearch.core.library.vectors import ensure_vector_table
    from photosearch.core.resources import sample_photos_dir

    sources = sorted(sample_photos_dir().glob("*/*.jpg"))
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    dim = 256
    with Library(db) as library:
        record = library.add_folder(folder)
        now = time.time()

        def setup(conn):  # type: ignore[no-untyped-def]
            ensure_vector_table(conn, "vec_visual", dim, "synthetic", "visual_model")
            rows = []
            for i in range(n):
                link = folder / f"photo_{i:06d}.jpg"
                if not link.exists():
                    link.symlink_to(sources[i % len(sources)])
                rows.append((record.id, path_to_db(str(link)), 1000, now - i, "pending", now))
            conn.executemany(
                "INSERT INTO photos(folder_id, path, size, mtime, status, added_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

        library.write(setup)
        ids = [r[0] for r in library.reader().query("SELECT id FROM photos ORDER BY id")]
        for start in range(0, n, 2000):
            chunk = ids[start : start + 2000]
            vectors = rng.standard_normal((len(chunk), dim)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            batch = []
            for pid, vector in zip(chunk, vectors):
                top = rng.choice(1000, 32, replace=False).astype(np.uint16)
                probs = np.sort(rng.dirichlet(np.ones(32) * 0.3)).astype(np.float32)[::-1]
                batch.append(
                    Embedded(pid, 1000, now, f"h{pid}", 640, 480, None, None, vector, top, probs)
                )
            library.write(lambda conn, b=batch: write_embeddings(conn, "synthetic", b))


def query_to_paint(db: Path, tmp: Path) -> dict[str, float]:
    from photosearch.core.library.store import Library
    from photosearch.gui.app import make_application
    from photosearch.gui.context import AppContext
    from photosearch.gui.main_window import MainWindow
    from photosearch.gui.qt import QEvent, QEventLoop, QObject, QSettings, QTimer
    from photosearch.gui.settings import Settings
    from photosearch.gui.thumbnails import ThumbnailCache

    make_application()
    settings = Settings(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
    ctx = AppContext(
        Library(db), settings, semantic_factory=None, thumbnail_cache=ThumbnailCache(tmp / "th")
    )
    window = MainWindow(ctx)
    window.resize(1360, 860)
    window.show()
    grid = window.results.grid
    state = {"armed": False, "painted": 0.0, "results": 0.0}

    class Probe(QObject):
        def eventFilter(self, obj, event):  # type: ignore[no-untyped-def]
            if event.type() == QEvent.Type.Paint and state["armed"] and state["results"]:
                state["painted"] = time.perf_counter()
                state["armed"] = False
            return super().eventFilter(obj, event)

    probe = Probe()
    grid.viewport().installEventFilter(probe)
    window.controller.results_ready.connect(
        lambda *a: state.__setitem__("results", time.perf_counter())
    )

    def wait(cond, timeout=120.0):  # type: ignore[no-untyped-def]
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise TimeoutError
            loop = QEventLoop()
            QTimer.singleShot(5, loop.quit)
            loop.exec()

    def measure(action) -> float:  # type: ignore[no-untyped-def]
        state.update(armed=True, painted=0.0, results=0.0)
        started = time.perf_counter()
        action()
        wait(lambda: state["painted"] > 0)
        return state["painted"] - started

    figures = {}
    started = time.perf_counter()
    figures["library view, first (newest first)"] = measure(window.controller.run)
    wait(lambda: ctx.thumbnails.idle)
    figures["  visible thumbnails decoded, cold disk cache"] = time.perf_counter() - started
    wait(lambda: not ctx.search_runner.busy)
    photo = window.results.path_at(5)
    figures["find similar (stored vector)"] = measure(lambda: window.find_similar(photo))
    figures["back to the library (Esc)"] = measure(window.search_bar.clear)
    try:
        import photosearch.core.text.query  # noqa: F401

        window.search_bar.clear()
        wait(lambda: window.results.title.text() == "All Photos")
        figures["text query, first (loads word vectors)"] = measure(
            lambda: window.search_bar.set_text("dog")
        )
        figures["text query, next"] = measure(lambda: window.search_bar.set_text("red car"))
    except ImportError:
        pass
    window.search_bar.clear()
    wait(lambda: window.results.title.text() == "All Photos")
    bar = grid.verticalScrollBar()
    started = time.perf_counter()
    steps = 0
    for value in range(0, bar.maximum(), max(1, bar.maximum() // 200)):
        bar.setValue(value)
        grid.viewport().repaint()
        steps += 1
    figures[f"scroll through the grid, per step ({steps} steps)"] = (
        time.perf_counter() - started
    ) / max(steps, 1)
    window.close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="photosearch-gui-bench-"))
    os.environ.setdefault("PHOTOSEARCH_CACHE", str(tmp / "cache"))
    os.environ.setdefault("XDG_CONFIG_HOME", str(tmp / "config"))

    paint, torch = startup(tmp / "empty.db", args.runs)
    print(
        f"launch to first window paint (empty library): {paint * 1000:.0f} ms median "
        f"of {args.runs}; torch imported at first paint: {torch}"
    )
    db = tmp / "synthetic.db"
    started = time.perf_counter()
    synthesise(db, args.photos, tmp / "photos")
    print(f"synthesised {args.photos:,} photos in {time.perf_counter() - started:.1f} s")
    paint, _ = startup(db, args.runs)
    print(f"launch to first window paint ({args.photos:,} photos): {paint * 1000:.0f} ms median")
    for name, seconds in query_to_paint(db, tmp).items():
        print(f"{name} -> painted grid, {args.photos:,} photos: {seconds * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
