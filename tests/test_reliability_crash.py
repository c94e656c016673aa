"""Crash safety: SIGKILL the indexer at many random moments and check nothing is lost or doubled.

A server subprocess imports everything once, then forks one indexer per run, so each run starts in
milliseconds and the kill lands anywhere from opening the database to the last commit. The kill
moments come from a fixed seed. After every kill:

* ``PRAGMA integrity_check`` is ok and the vector rows match the photos marked indexed;
* a copy of the database finishes indexing in-process, encoding exactly the photos that were not
  yet indexed (finished work is not redone), with one vector per photo and no photo lost;
* the next killed run never encodes a photo the database already had as indexed (each run's
  encoder logs a fingerprint of every array it encodes).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import TinyEncoder, copy_sample

from photosearch.core.indexing.indexer import Indexer, read_and_decode
from photosearch.core.library.db import Database
from photosearch.core.library.rows import path_from_db
from photosearch.core.library.store import Library

KILLS = 22
SEED = 20240808

SERVER = r"""
import os, sys, hashlib
sys.path.insert(0, {tests!r})
import numpy as np
import torch
from helpers import TinyEncoder
from photosearch.core.indexing.indexer import Indexer
from photosearch.core.library.store import Library

# Imported and warmed up once, single-threaded (no OpenMP pool exists to break across fork), so
# that each forked run starts at once.
torch.set_num_threads(1)
TinyEncoder().encode_arrays(np.zeros((4, 32, 32, 3), np.uint8))
print("ready", flush=True)


class LoggingEncoder(TinyEncoder):
    def __init__(self, log_path):
        super().__init__()
        self.log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def encode_arrays(self, batch):
        lines = "".join(hashlib.blake2b(a.tobytes(), digest_size=8).hexdigest() + "\n"
                        for a in batch)
        os.write(self.log, lines.encode())
        return super().encode_arrays(batch)


def run(db, root, log_path):
    lib = Library(db)
    lib.add_folder(root)
    Indexer(lib, LoggingEncoder(log_path), batch_size=4, decode_workers=2).run()
    lib.close()


for line in sys.stdin:
    db, root, log_path = line.rstrip("\n").split("\t")
    pid = os.fork()
    if pid == 0:
        try:
            run(db, root, log_path)
            code = 0
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        os._exit(code)
    print("pid", pid, flush=True)
    _, status = os.waitpid(pid, 0)
    signalled = os.WIFSIGNALED(status)
    print("exit", os.WTERMSIG(status) if signalled else -1,
          os.WEXITSTATUS(status) if not signalled else -1, flush=True)
"""


def fingerprint(array) -> str:  # type: ignore[no-untyped-def]
    return hashlib.blake2b(array.tobytes(), digest_size=8).hexdigest()


def db_state(db_path: Path) -> tuple[set[str], int, int]:
    """(paths indexed, vector rows, photo rows) of a killed database, after integrity_check."""
    db = Database(db_path)
    try:
        assert db.scalar("PRAGMA integrity_check") == "ok"
        if db.scalar("SELECT 1 FROM sqlite_master WHERE name = 'photos'") is None:
            return set(), 0, 0  # killed before the schema was committed
        indexed = {
            path_from_db(r[0]) for r in db.query("SELECT path FROM photos WHERE status = 'indexed'")
        }
        has_vec = db.scalar("SELECT 1 FROM sqlite_master WHERE name = 'vec_visual'")
        vectors = db.scalar("SELECT COUNT(*) FROM vec_visual") if has_vec else 0
        photos = db.scalar("SELECT COUNT(*) FROM photos")
        return indexed, vectors, photos
    finally:
        db.close()


def finish_a_copy(db_path: Path, scratch: Path, root: Path, indexed: set[str], total: int) -> None:
    """The next run completes: on a copy, so that the kill series goes on from the killed state."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir()
    copy = scratch / "lib.db"
    for suffix in ("", "-wal"):
        if Path(str(db_path) + suffix).exists():
            shutil.copy2(str(db_path) + suffix, str(copy) + suffix)
    encoder = TinyEncoder()
    with Library(copy) as library:
        library.add_folder(root)
        summary = Indexer(library, encoder, batch_size=16, decode_workers=2).run()
        db = library.reader()
        assert library.status_counts()["indexed"] == total, library.status_counts()
        assert db.scalar("SELECT COUNT(*) FROM photos") == total  # none lost, none doubled
        assert db.scalar("SELECT COUNT(*) FROM vec_visual") == total
        assert db.scalar("SELECT COUNT(DISTINCT photo_id) FROM vec_visual") == total
        assert db.scalar("SELECT COUNT(*) FROM photo_classes") == total
    assert encoder.calls == total - len(indexed) == summary.embedded  # finished work not redone


@pytest.mark.slow
def test_sigkill_at_random_moments(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    photos = copy_sample(root, None, per_class=3)  # 108 photos
    total = len(photos)
    preprocess = TinyEncoder().preprocess
    prints = {}
    for path in photos:
        decoded = read_and_decode(0, str(path), preprocess)
        assert decoded.array is not None
        prints[str(path)] = fingerprint(decoded.array)
    assert len(set(prints.values())) == total
    path_of = {v: k for k, v in prints.items()}

    rng = random.Random(SEED)
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(tests=str(Path(__file__).parent))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert server.stdin is not None and server.stdout is not None

    def start(db: Path, log: Path) -> int:
        server.stdin.write(f"{db}\t{root}\t{log}\n")  # type: ignore[union-attr]
        server.stdin.flush()  # type: ignore[union-attr]
        word, pid = server.stdout.readline().split()  # type: ignore[union-attr]
        assert word == "pid"
        return int(pid)

    def finished() -> tuple[int, int]:
        word, sig, code = server.stdout.readline().split()  # type: ignore[union-attr]
        assert word == "exit"
        return int(sig), int(code)

    started = time.monotonic()
    kills = cycles = partial = 0
    completed_runs = 0
    try:
        assert server.stdout.readline().strip() == "ready"
        # A full uninterrupted run sets the scale of the random delays.
        t0 = time.monotonic()
        start(tmp_path / "baseline.db", tmp_path / "baseline.log")
        assert finished() == (-1, 0)
        full_run = time.monotonic() - t0
        while kills < KILLS:
            cycles += 1
            cycle = tmp_path / f"cycle{cycles}"
            cycle.mkdir()
            db_path = cycle / "lib.db"
            indexed: set[str] = set()
            for run in range(100):
                log = cycle / f"run{run}.log"
                pid = start(db_path, log)
                time.sleep(rng.uniform(0, full_run * 1.1))
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                sig, code = finished()
                encoded = log.read_text().split() if log.exists() else []
                assert len(encoded) == len(set(encoded)), "a photo was encoded twice in one run"
                redone = {path_of[e] for e in encoded} & indexed
                assert not redone, f"run {run} re-encoded finished photos: {sorted(redone)[:3]}"
                indexed, vectors, rows = db_state(db_path)
                assert vectors == len(indexed), "vector rows do not match indexed photos"
                assert rows <= total
                if sig == signal.SIGKILL:
                    kills += 1
                    partial += 0 < len(indexed) < total
                    finish_a_copy(db_path, cycle / "copy", root, indexed, total)
                else:
                    assert code == 0, "an indexer run failed after a kill"
                    completed_runs += 1
                    assert indexed == set(prints) and rows == total
                    break
            if (
                time.monotonic() - started > 150
            ):  # a safety net; the kills normally take well under a minute
                break
    finally:
        server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()
    assert kills >= 20, f"only {kills} kills landed in {time.monotonic() - started:.0f} s"
    assert partial >= 5, f"only {partial} kills landed while photos were being embedded"
    print(
        f"{kills} kills ({partial} mid-embedding) over {cycles} cycles, {completed_runs} completed"
    )
