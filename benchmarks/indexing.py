"""Indexing throughput on realistic photos: end-to-end vs encoder-only vs a naive pipeline.

    .venv/bin/python benchmarks/indexing.py [--photos 96] [--rounds 3] [--skip-cold]
        [--backends openvino torch] [--threads N] [--decode-workers N]

Photos: the bundled sample photos upscaled to 4000x3000 JPEGs (quality 90) in a temporary folder.
They are ~0.7 MB each, smoother than a camera's 3-5 MB files; ``--grain 8`` adds sensor-like
noise for ~3.2 MB files, which cost about 3x as much to decode (entropy decoding grows with the
file). In interleaved rounds, for each inference backend:

* encoder-only: ``encode_arrays`` in batches of 32 on already decoded 224x224 arrays;
* end-to-end: ``Indexer.run`` into a fresh library (scan, read + hash + draft-decode on the
  decode threads, batched inference, batched commits on the writer) with a cold file cache
  (``echo 3 > /proc/sys/vm/drop_caches``, needs root; said so when it fails) and a warm one;
* naive: full-size decode (no draft) then resize, NCHW float32 model input (no channels_last),
  one photo at a time, one SQLite transaction per photo, no overlap between the steps.

Targets: end-to-end >= 0.8 x encoder-only and >= 3 x naive. Peak RSS while indexing is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import _common
import numpy as np
import torch
from PIL import Image

from photosearch.core.indexing.indexer import Indexer, default_decode_workers
from photosearch.core.library.embeddings import Embedded
from photosearch.core.library.store import Library
from photosearch.core.library.vectors import top_classes
from photosearch.core.resources import sample_photos_dir
from photosearch.core.vision.loader import load_encoder

SIZE = (4000, 3000)


def make_photos(folder: Path, count: int, grain: float = 0.0) -> list[Path]:
    """``count`` bundled photos upscaled to 4000x3000 JPEGs (quality 90). ``grain``: the standard
    deviation of Gaussian noise added per pixel, which makes the files as big as a camera's
    (sensor noise is what makes them 3-5 MB; a smooth upscale is ~0.7 MB)."""
    sources = sorted(sample_photos_dir().rglob("*.jpg"))
    step = max(1, len(sources) // count)
    rng = np.random.default_rng(0)
    out = []
    for i, src in enumerate(sources[::step][:count]):
        dest = folder / src.parent.name / f"big_{i:04d}.jpg"
        dest.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(src) as im:
            im = im.convert("RGB")
            w, h = im.size
            size = SIZE if w >= h else SIZE[::-1]
            im = im.resize(size, Image.Resampling.BICUBIC)
            if grain > 0:
                noisy = np.asarray(im, np.float32) + rng.normal(0, grain, (size[1], size[0], 3))
                im = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
            im.save(dest, quality=90)
        out.append(dest)
    return out


class PeakRss:
    """Samples this process's RSS every 50 ms while running."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _common.rss_mb())
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def end_to_end(encoder, folder: Path, work: Path, cold: bool, **kw) -> tuple[float, float, bool]:  # type: ignore[no-untyped-def]
    dropped = _common.drop_page_cache() if cold else False
    db = work / f"e2e-{time.monotonic_ns()}.db"
    with PeakRss() as rss:
        t = time.perf_counter()
        with Library(db) as library:
            library.add_folder(folder)
            summary = Indexer(library, encoder, **kw).run()
        seconds = time.perf_counter() - t
    assert summary.errors == 0 and summary.embedded > 0, summary
    return summary.embedded / seconds, rss.peak, dropped


def encoder_only(encoder, arrays: np.ndarray, batch: int) -> float:  # type: ignore[no-untyped-def]
    encoder.encode_arrays(arrays[:batch])  # warm-up
    t = time.perf_counter()
    for i in range(0, len(arrays), batch):
        encoder.encode_arrays(arrays[i : i + batch])
    return len(arrays) / (time.perf_counter() - t)


def naive(encoder, paths: list[Path], work: Path) -> float:  # type: ignore[no-untyped-def]
    """Full-size decode, NCHW float32, one transaction per photo, nothing overlapped."""
    from photosearch.core.indexing.scanner import bytes_hash
    from photosearch.core.library.embeddings import write_embeddings
    from photosearch.core.vision.imageio import open_image

    net = encoder._network
    import copy

    net = copy.deepcopy(net).to(memory_format=torch.contiguous_format)
    fc, mean, std, basis = encoder._classifier, encoder._mean, encoder._std, encoder._basis
    t = time.perf_counter()
    with Library(work / f"naive-{time.monotonic_ns()}.db") as library:
        library.add_folder(paths[0].parent.parent)
        Indexer(library, encoder).prepare()
        try:
            from photosearch.core.indexing.sync import sync_folders
        except ImportError:  # code from before the one sync module, to compare
            from photosearch.core.indexing.scanner import sync_folders  # type: ignore[attr-defined,no-redef]

        sync_folders(library, None, encoder.model_id)
        pending = library.reader().query("SELECT id, path FROM photos WHERE status = 'pending'")
        for photo_id, path in pending:
            data = Path(path).read_bytes()
            digest = bytes_hash(data)
            image = open_image(path)  # full-size decode, no draft
            array = encoder.preprocess(image)
            with torch.no_grad():
                x = torch.from_numpy(array[None]).permute(0, 3, 1, 2).contiguous().float()
                f = net((x - mean) / std)
                probs = torch.softmax(fc(f), 1).numpy()
                f = torch.nn.functional.normalize(f, dim=1)
                v = torch.nn.functional.normalize(f @ basis, dim=1).numpy()
            ids, p = top_classes(probs)
            st = os.stat(path)
            row = Embedded(
                photo_id,
                st.st_size,
                st.st_mtime,
                digest,
                image.width,
                image.height,
                None,
                None,
                v[0],
                ids[0],
                p[0],
            )

            def write(db, row=row) -> None:  # type: ignore[no-untyped-def]
                write_embeddings(db, encoder.model_id, [row])

            library.write(write)  # one transaction per photo
    return len(pending) / (time.perf_counter() - t)


def load_backends(names: list[str], threads: int | None) -> dict[str, object]:
    """One encoder per inference backend that can run here (at ``threads`` if given)."""
    from photosearch.core.vision.encoder import BackendUnavailableError

    if threads:
        os.environ["PHOTOSEARCH_TORCH_THREADS"] = str(threads)
    encoders = {}
    for name in names:
        try:
            encoders[name] = load_encoder(backend=name)
        except BackendUnavailableError as exc:
            print(f"   backend {name} not measured: {exc}")
    return encoders


def run_rounds(encoders, arrays, folder, work, args) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """Interleaved rounds, so that the machine's drift hits every configuration alike."""
    rates: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for backend, encoder in encoders.items():
            enc = encoder_only(encoder, arrays, args.batch)
            rates.setdefault(f"{backend}: encoder-only (pre-decoded)", []).append(enc)
            rate, peak, _ = end_to_end(
                encoder,
                folder,
                work,
                cold=False,
                batch_size=args.batch,
                decode_workers=args.decode_workers,
            )
            rates.setdefault(f"{backend}: end-to-end, warm cache", []).append(rate)
            rates.setdefault(f"{backend}: end-to-end / encoder-only", []).append(rate / enc)
            print(
                f"   round {r + 1} {backend}: encoder-only {enc:.1f}, end-to-end {rate:.1f} "
                f"photos/s ({rate / enc:.2f}), peak RSS {peak:,.0f} MB",
                flush=True,
            )
            if not args.skip_cold:
                rate, _, dropped = end_to_end(
                    encoder, folder, work, cold=True, batch_size=args.batch
                )
                label = "cold cache" if dropped else "cache NOT dropped: not root"
                rates.setdefault(f"{backend}: end-to-end, {label}", []).append(rate)
        if not args.skip_naive:
            _common.drop_page_cache()
            rates.setdefault("naive pipeline (torch)", []).append(
                naive(encoders.get("torch") or next(iter(encoders.values())), args.paths, work)
            )
    return rates


def report(rates: dict[str, list[float]]) -> None:
    median = {name: float(np.median(v)) for name, v in rates.items()}
    base = median.get("naive pipeline (torch)")
    print(f"   {'median of the rounds':46s} {'photos/s':>9s} {'x naive':>8s}")
    for name, value in median.items():
        if name.endswith("/ encoder-only"):
            print(f"   {name:46s} {value:9.2f}   (ratio, median of per-round ratios)")
            continue
        ratio = f"{value / base:8.2f}" if base else ""
        print(f"   {name:46s} {value:9.1f} {ratio}")
    print("   targets: end-to-end >= 0.80 x encoder-only and >= 3.00 x naive")
    print(f"   peak RSS of the process {_common.peak_rss_mb():,.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=96)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-cold", action="store_true")
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument(
        "--backends", nargs="+", default=["openvino", "torch"], help="inference backends to run"
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="inference threads (default: the app's choice); with --decode-workers 1 and "
        "--threads 1 on 2 cores, inference has a core of its own, as on a machine with more cores",
    )
    ap.add_argument("--decode-workers", type=int, default=None)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument(
        "--grain",
        type=float,
        default=0.0,
        help="add Gaussian noise of this standard deviation, for camera-sized files (e.g. 6)",
    )
    args = ap.parse_args()
    encoders = load_backends(args.backends, args.threads)
    _common.header(
        f"indexing {args.photos} photos of {SIZE[0]}x{SIZE[1]}, {args.rounds} rounds, "
        f"decode workers {args.decode_workers or default_decode_workers()}"
    )
    work = Path(tempfile.mkdtemp(prefix="photosearch-index-bench-"))
    try:
        folder = work / "photos"
        t = time.perf_counter()
        args.paths = make_photos(folder, args.photos, args.grain)
        mb = sum(p.stat().st_size for p in args.paths) / 1e6
        print(
            f"   made {len(args.paths)} JPEGs, {mb / len(args.paths):.1f} MB each "
            f"({time.perf_counter() - t:.0f} s)",
            flush=True,
        )
        from photosearch.core.vision.imageio import open_image

        first = next(iter(encoders.values()))
        side = first.preprocess.decode_side
        arrays = np.stack([first.preprocess(open_image(p, side)) for p in args.paths])
        report(run_rounds(encoders, arrays, folder, work, args))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
