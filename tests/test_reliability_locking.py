"""Processes that share a library coordinate (issue 19, item 8).

* One indexer per library: `index`, `watch` and the app take the library's indexing lock; a
  second one waits for the first, says so once, and then finds nothing left to embed.
* Creating a library from several processes at once never fails with "database is locked":
  the first switch to WAL, which SQLite's busy time-out does not cover, is retried.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from helpers import WATCH_FAST, TinyEncoder, copy_sample

from photosearch.core.indexing.watcher import WatchService
from photosearch.core.library.locks import IndexingLock
from photosearch.core.library.store import Library

REPO = Path(__file__).parent.parent
TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    copy_sample(root, ["dog", "pizza", "sunflower"], per_class=4)
    return root


N_PHOTOS = 12

CREATE_RACE = r"""
import multiprocessing as mp, os, random, sys
from photosearch.core.library.store import Library

def create(path, barrier, delay, results):
    barrier.wait()
    import time
    time.sleep(delay)  # spread the six over a few milliseconds: every overlap occurs
    try:
        with Library(path) as library:
            library.folders()
        results.put("ok")
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}")

if __name__ == "__main__":
    ctx = mp.get_context("fork")
    rng = random.Random(19)
    failures = []
    for round_ in range(int(sys.argv[2])):
        path = os.path.join(sys.argv[1], f"round{round_}", "library.db")
        barrier, results = ctx.Barrier(6), ctx.Queue()
        procs = [
            ctx.Process(target=create, args=(path, barrier, rng.uniform(0, 0.02), results))
            for _ in range(6)
        ]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join()
        failures += [o for o in outcomes if o != "ok"]
    print("FAILURES", len(failures), failures[:3])
"""


def test_six_processes_create_one_new_library_at_once(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", CREATE_RACE, str(tmp_path), "6"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert "FAILURES 0 []" in proc.stdout, proc.stdout


WRITE_LOCK_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")  # a write lock on the new, still empty file
print("held", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


def test_a_new_library_waits_for_another_process_s_write_lock(tmp_path):
    """The deterministic form of the race: SQLite answers "database is locked" at once here,
    without waiting out the busy time-out, unless the WAL switch is retried."""
    db = tmp_path / "library.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", WRITE_LOCK_HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    outcome: list[str] = []

    def open_library() -> None:
        try:
            with Library(db) as library:
                outcome.append(f"ok {len(library.folders())}")
        except Exception as exc:
            outcome.append(repr(exc))

    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        opener = threading.Thread(target=open_library)
        opener.start()
        opener.join(1.0)  # the other process keeps its lock for a second
        early = list(outcome)
    finally:
        holder.communicate("", timeout=60)
    opener.join(60)
    assert early == [] and outcome == ["ok 0"], (early, outcome)


INDEXER_CHILD = r"""
import sys
sys.path.insert(0, {tests!r})
from helpers import TinyEncoder
from photosearch.core.indexing.indexer import Indexer
from photosearch.core.library.store import Library

def progress(p):
    if p.phase == "wait":
        print("WAIT", p.pid, flush=True)

encoder = TinyEncoder()
with Library({db!r}) as library:
    summary = Indexer(library, encoder, batch_size=2, decode_workers=2).run(on_progress=progress)
print("RESULT", summary.embedded, encoder.calls, flush=True)
"""


def test_two_indexers_at_once_embed_each_photo_once(tmp_path, photos):
    """Two runs start while a third holder (this test) indexes: both wait and say so once;
    then one embeds everything while the other waits on, and finds nothing left."""
    db = tmp_path / "library.db"
    with Library(db) as library:
        library.add_folder(photos)
    held = IndexingLock(db)
    assert held.acquire()
    script = INDEXER_CHILD.format(tests=str(TESTS), db=str(db))
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        for _ in range(2)
    ]
    try:
        first_lines = [child.stdout.readline() for child in children]  # type: ignore[union-attr]
    finally:
        held.release()
    outputs = [child.communicate(timeout=120)[0] for child in children]
    assert first_lines == [f"WAIT {os.getpid()}\n"] * 2, (first_lines, outputs)
    results = [line.split() for out in outputs for line in out.splitlines()]
    embedded = sorted(int(r[1]) for r in results if r[0] == "RESULT")
    calls = sorted(int(r[2]) for r in results if r[0] == "RESULT")
    assert embedded == [0, N_PHOTOS] and calls == [0, N_PHOTOS], outputs
    assert not any(r[0] == "WAIT" for r in results)  # each said it once, though one waited on
    with Library(db) as library:
        assert library.status_counts()["indexed"] == N_PHOTOS


def test_watch_waits_for_the_indexing_lock(tmp_path, photos):
    db = tmp_path / "library.db"
    encoder = TinyEncoder()
    waited = threading.Event()
    with Library(db) as library:
        library.add_folder(photos)
        held = IndexingLock(db)
        assert held.acquire()
        service = WatchService(
            library,
            lambda: encoder,
            on_progress=lambda p: waited.set() if p.phase == "wait" else None,
            **WATCH_FAST,  # type: ignore[arg-type]
        )
        service.start()
        try:
            assert waited.wait(60)
            assert encoder.calls == 0 and library.status_counts()["indexed"] == 0
            held.release()
            assert service.wait_idle(60)
        finally:
            held.release()
            service.stop()
        assert encoder.calls == N_PHOTOS
        assert library.status_counts()["indexed"] == N_PHOTOS


def test_index_waits_with_one_message_while_another_process_indexes(tmp_path, photos):
    """The real `photosearch index` (real model): it says once whom it waits for."""
    db = tmp_path / "library.db"
    held = IndexingLock(db)
    assert held.acquire()
    env = {k: v for k, v in os.environ.items() if k != "PHOTOSEARCH_DB"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "photosearch", "index", str(photos), "--json", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    before = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # until the message (or the end, when it never waits)
            before.append(line)
            if "another photosearch process" in line:
                break
    finally:
        held.release()
    out, err = proc.communicate(timeout=300)
    message = (
        f"photosearch: another photosearch process is indexing this library (pid {os.getpid()}); "
        "waiting for it to finish…\n"
    )
    assert before and before[-1] == message, (before, err)
    assert "another photosearch process" not in err, err  # said once
    assert proc.returncode == 0
    assert json.loads(out)["embedded"] == N_PHOTOS
