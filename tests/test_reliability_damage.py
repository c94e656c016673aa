"""Damage that queries never touch is found (issue 19, item 11).

`photosearch status --check` runs PRAGMA quick_check over the whole file; `watch` and the app do
so on start when the last clean check is older than INTEGRITY_CHECK_DAYS (kept in the library's
meta table). Damage gives exit status 3 with the repair hint, stops `watch`, and shows in the
app's status bar.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import WATCH_FAST, TinyEncoder, copy_sample

from photosearch.core.indexing.indexer import Indexer
from photosearch.core.indexing.watcher import WatchService
from photosearch.core.library.db import DatabaseCorruptError
from photosearch.core.library.store import INTEGRITY_CHECK_DAYS, LAST_CHECK_KEY, Library

REPO = Path(__file__).parent.parent
TIMEOUT = 60_000


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PHOTOSEARCH_DB"}
    return subprocess.run(
        [sys.executable, "-m", "photosearch", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    copy_sample(root, ["dog", "pizza", "sunflower"], per_class=4)
    return root


def good_library(path: Path, photos: Path) -> None:
    with Library(path) as library:
        library.add_folder(photos)
        Indexer(library, TinyEncoder(), batch_size=4, decode_workers=2).run()


def random_bytes_over_the_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle - 2048 : middle + 2048] = random.Random(19).randbytes(4096)
    path.write_bytes(bytes(data))


def random_bytes_over_an_index(path: Path, name: str = "photos_taken") -> None:
    """Overwrite the root page of an index only date filters read (nothing at start-up)."""
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    conn.close()
    with open(path, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(random.Random(19).randbytes(page_size))


def test_status_check_finds_random_bytes_in_the_middle_of_the_file(tmp_path, photos):
    db = tmp_path / "library.db"
    good_library(db, photos)
    random_bytes_over_the_middle(db)
    proc = cli("status", "--check", "--db", str(db))
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    assert f"{db} is damaged" in proc.stderr, proc.stderr
    assert f"photosearch repair --db {db}" in proc.stderr and "Traceback" not in proc.stderr


def test_status_check_of_a_healthy_library_passes_and_is_remembered(tmp_path, photos):
    db = tmp_path / "library.db"
    good_library(db, photos)
    started = time.time()
    proc = cli("status", "--check", "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert "check     ok" in proc.stdout
    with Library(db) as library:
        assert float(library.meta(LAST_CHECK_KEY) or 0) >= started
        assert not library.integrity_check_due()


def damaged_but_working(path: Path, photos: Path, last_check_days_ago: float | None) -> None:
    good_library(path, photos)
    if last_check_days_ago is not None:
        with Library(path) as library:
            library.set_meta(LAST_CHECK_KEY, repr(time.time() - last_check_days_ago * 86400))
    random_bytes_over_an_index(path)


def run_watch(library: Library) -> tuple[WatchService, list[str]]:
    """Start a WatchService; returns it once it watches or has stopped, and its states."""
    states: list[str] = []
    settled = threading.Event()

    def on_state(state: str) -> None:
        states.append(state)
        if state in ("watching", "error", "stopped"):
            settled.set()

    service = WatchService(library, TinyEncoder, on_state=on_state, **WATCH_FAST)  # type: ignore[arg-type]
    service.start()
    assert settled.wait(60), states
    return service, states


def test_watch_checks_only_when_the_last_check_is_old_and_stops_on_damage(tmp_path, photos):
    db = tmp_path / "library.db"
    damaged_but_working(db, photos, last_check_days_ago=INTEGRITY_CHECK_DAYS - 1)
    with Library(db) as library:
        service, states = run_watch(library)  # checked recently: not again
        service.stop()
        assert "watching" in states and service.error is None, (states, service.error)

        library.set_meta(LAST_CHECK_KEY, repr(time.time() - (INTEGRITY_CHECK_DAYS + 1) * 86400))
        service, states = run_watch(library)
        service.stop()
    assert states[-1] == "error", states
    assert isinstance(service.error, DatabaseCorruptError), service.error
    assert service.indexer is None  # stopped before the model was even loaded


def test_watch_command_exits_3_with_the_repair_hint(tmp_path, photos):
    db = tmp_path / "library.db"
    damaged_but_working(db, photos, last_check_days_ago=None)  # never checked
    proc = cli("watch", "--db", str(db))
    assert proc.returncode == 3, proc.stderr
    assert "is damaged" in proc.stderr and f"photosearch repair --db {db}" in proc.stderr


class GatedEncoder(TinyEncoder):
    """Embeds only once the gate opens (conftest's open_window opens it at the end)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def encode_arrays(self, batch):  # type: ignore[no-untyped-def]
        self.gate.wait(60)
        return super().encode_arrays(batch)


def test_the_app_shows_damage_and_stops_indexing(open_window, tmp_path, photos, qtbot):
    """Damage found while the first sync still embeds: the sync stops, and the folder watcher
    that would follow it never starts."""
    db = tmp_path / "library.db"
    damaged_but_working(db, photos, last_check_days_ago=None)
    with sqlite3.connect(db) as conn:  # one photo to embed again (the damaged index untouched)
        conn.execute("UPDATE photos SET status = 'pending' WHERE id = 1")
    encoder = GatedEncoder()
    window = open_window(db, encoder)
    qtbot.waitUntil(lambda: not window.status.damage.isHidden(), timeout=TIMEOUT)
    text = window.status.damage.text()
    assert "is damaged" in text and "photosearch repair" in text, text
    assert window.ctx.indexing.running  # still embedding, held at the gate
    encoder.gate.set()
    qtbot.waitUntil(lambda: not window.ctx.indexing.running, timeout=TIMEOUT)
    assert window.ctx.indexing._watcher is None
