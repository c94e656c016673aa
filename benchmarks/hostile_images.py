"""Peak memory of ``photosearch index`` on huge-but-small PNGs, against ordinary photos.

    .venv/bin/python benchmarks/hostile_images.py [--side 14000] [--photos 20]
        [--budget-mb MB] [--pythonpath OTHER_CHECKOUT]

Builds, in a temporary folder, the four files of issue 19: PNGs of ``--side`` x ``--side``
pixels that compress to well under a megabyte (8-bit RGB, 16-bit grey, and two 8-bit RGBA),
written row by row so that building them needs no memory. Then it runs the real command line,
``python -m photosearch index FOLDER --db NEW.db --json``, in a subprocess on that folder and on
a folder of ``--photos`` ordinary photos (the bundled samples): the baseline, measured in the
same run. Each subprocess's peak RSS comes from ``wait4``. A first, unmeasured run converts the
model for OpenVINO if the model cache is cold, so neither figure includes that.

``--pythonpath`` runs another checkout's package (e.g. the code before a change) instead.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import _common

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png(path: Path, side: int, depth: int, colour: int, row: Callable[[int], bytes]) -> None:
    """A ``side`` x ``side`` PNG whose row ``y`` holds ``row(y)`` (filter type 0), compressed
    as a stream: the whole image is never in memory."""
    packer = zlib.compressobj(9)
    with open(path, "wb") as f:
        f.write(SIGNATURE)
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, depth, colour, 0, 0, 0)))
        for piece in _deflated(packer, side, row):
            f.write(chunk(b"IDAT", piece))
        f.write(chunk(b"IEND", b""))


def _deflated(packer: object, side: int, row: Callable[[int], bytes]) -> Iterator[bytes]:
    pending = b""
    for y in range(side):
        pending += packer.compress(b"\x00" + row(y))  # type: ignore[attr-defined]
        if len(pending) >= 1 << 20:
            yield pending
            pending = b""
    yield pending + packer.flush()  # type: ignore[attr-defined]


def hostile_folder(folder: Path, side: int) -> list[Path]:
    """The four files: RGB, 16-bit grey, RGBA and RGBA. Colour changes every 512 pixels along
    a row and a little from row to row: long runs, so they compress like the issue's files."""
    import numpy as np

    block = np.arange(side) // 512
    folder.mkdir(parents=True, exist_ok=True)

    def rgb(y: int) -> bytes:
        shade = np.full(side, y * 255 // side)
        return np.stack([block * 37 % 256, shade, block * 91 % 256], 1).astype("u1").tobytes()

    def grey16(y: int) -> bytes:
        return ((block * 2053 + y) % 65536).astype(">u2").tobytes()

    def rgba(y: int) -> bytes:
        alpha = np.full(side, 255 if (y // 512) % 2 else 96)
        colour = [block * 37 % 256, np.full(side, y * 255 // side), block * 91 % 256]
        return np.stack([*colour, alpha], 1).astype("u1").tobytes()

    files = [
        (folder / "rgb.png", 8, 2, rgb),
        (folder / "grey16.png", 16, 0, grey16),
        (folder / "rgba-1.png", 8, 6, rgba),
        (folder / "rgba-2.png", 8, 6, rgba),
    ]
    for path, depth, colour, row in files:
        write_png(path, side, depth, colour, row)
    return [f[0] for f in files]


def ordinary_folder(folder: Path, count: int) -> list[Path]:
    from photosearch.core.resources import sample_photos_dir

    folder.mkdir(parents=True, exist_ok=True)
    photos = sorted(sample_photos_dir().glob("*/*.jpg"))[:: max(1, 360 // count)][:count]
    for photo in photos:
        shutil.copy2(photo, folder / f"{photo.parent.name}-{photo.name}")
    return sorted(folder.iterdir())


def index_peak(folder: Path, db: Path, env: dict[str, str]) -> tuple[float, float, dict]:
    """(peak RSS in MiB, seconds, the --json summary) of one ``photosearch index`` run."""
    command = [sys.executable, "-m", "photosearch", "index", str(folder), "--db", str(db), "--json"]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(  # cwd: `-m` would put the current folder first on the path
            command, env=env, cwd=folder, stdout=out, stderr=subprocess.PIPE, text=True
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        stderr = proc.stderr.read() if proc.stderr else ""
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"photosearch index failed ({proc.returncode}):\n{stderr}")
    return usage.ru_maxrss / 1024, seconds, json.loads(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--side", type=int, default=14000, help="pixels per side (default 14000)")
    parser.add_argument("--photos", type=int, default=20, help="ordinary photos for the baseline")
    parser.add_argument(
        "--budget-mb", type=float, default=None, help="PHOTOSEARCH_DECODE_BUDGET_MB"
    )
    parser.add_argument("--pythonpath", default=str(_common.ROOT), help="checkout to run")
    args = parser.parse_args()

    env = {**os.environ, "PYTHONPATH": args.pythonpath}
    if args.budget_mb is not None:
        env["PHOTOSEARCH_DECODE_BUDGET_MB"] = str(args.budget_mb)
    print(f"== peak RSS of `photosearch index` ({args.pythonpath})")
    print(f"   {os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="photosearch-hostile-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        hostile = hostile_folder(root / "hostile", args.side)
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1024:,.0f} KB" for p in hostile)
        print(f"   built {args.side}x{args.side}: {sizes} ({time.perf_counter() - started:.0f} s)")
        ordinary_folder(root / "ordinary", args.photos)
        index_peak(root / "ordinary", root / "warm-up.db", env)  # model conversion, if any
        rows = []
        for name in ("ordinary", "hostile"):
            peak, seconds, summary = index_peak(root / name, root / f"{name}.db", env)
            rows.append((name, peak, seconds, summary))
        errors = photo_errors(root / "hostile.db")
    baseline = rows[0][1]
    print("\n| folder | files | peak RSS | over the baseline | seconds | embedded | errors |")
    print("|---|---|---|---|---|---|---|")
    for name, peak, seconds, summary in rows:
        files = summary["added"]
        print(
            f"| {name} | {files} | {peak:,.0f} MiB | {peak - baseline:+,.0f} MiB | {seconds:.1f} "
            f"| {summary['embedded']} | {summary['errors']} |"
        )
    for path, error in errors:
        print(f"   {Path(path).name}: {error}")


def photo_errors(db: Path) -> list[tuple[str, str]]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT path, error FROM photos WHERE status = 'error' ORDER BY path")
        return [(os.fsdecode(p) if isinstance(p, bytes) else p, e) for p, e in rows]


if __name__ == "__main__":
    main()
