"""The background watch service against real file-system events in temporary folders."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from helpers import SAMPLE, WATCH_FAST, TinyEncoder, copy_sample

from photosearch.core.indexing.changes import Changes
from photosearch.core.indexing.watcher import WatchService
from photosearch.core.library.db import DatabaseError
from photosearch.core.library.store import Library
from photosearch.core.search.searcher import Searcher

FAST = WATCH_FAST
SAMPLES = sorted(SAMPLE.glob("*/*.jpg"))


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(0.02)


def indexed(library: Library, path: Path) -> bool:
    photo = library.photo_by_path(path)
    return photo is not None and photo.status == "indexed"


@contextmanager
def watching(library: Library, encoder: Any, **kw: Any) -> Iterator[WatchService]:
    changes: list[Changes] = kw.pop("changes", [])
    service = WatchService(library, lambda: encoder, on_change=changes.append, **{**FAST, **kw})
    service.start()
    try:
        assert service.wait_idle(60), "the service did not finish its start-up scan"
        yield service
    finally:
        service.stop()
        assert service.error is None


def test_copied_photos_are_indexed_and_searchable(tmp_path, tiny_encoder):
    root = tmp_path / "photos"
    copy_sample(root, ["dog"], per_class=2)
    states: list[str] = []
    progress: list[Any] = []
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        service = WatchService(
            library,
            lambda: tiny_encoder,
            on_progress=progress.append,
            on_state=states.append,
            **FAST,
        )
        service.start()
        try:
            assert service.wait_idle(30)
            assert library.status_counts()["indexed"] == 2  # the start-up scan
            assert service.watch_modes() == {str(root): "native"}
            new = copy_sample(root / "later", ["pizza", "sunflower"], per_class=3)
            wait_for(lambda: all(indexed(library, p) for p in new), what="new photos indexed")
            results = Searcher(library, lambda: tiny_encoder).library_photos()
            assert {r.path for r in results} >= {str(p) for p in new}
            assert len(results) == 8
        finally:
            service.stop()
    assert {"starting", "scanning", "indexing", "watching"} <= set(states)
    assert states[-1] == "stopped"
    assert any(p.phase == "embed" for p in progress)


def test_move_and_rename_keep_the_embedding(tmp_path, tiny_encoder):
    root = tmp_path / "photos"
    photos = copy_sample(root, ["dog", "pizza"], per_class=3)
    changes: list[Changes] = []
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        with watching(library, tiny_encoder, changes=changes) as service:
            before = {p: library.photo_by_path(p) for p in photos}
            vectors = {p: library.visual_vector(before[p].id) for p in photos}
            calls = tiny_encoder.calls
            # a file rename, a move into a new sub-folder, and a folder rename
            renamed = root / "dog" / "renamed.jpg"
            photos[0].rename(renamed)
            (root / "best").mkdir()
            moved = root / "best" / photos[1].name
            photos[1].rename(moved)
            (root / "pizza").rename(root / "food")
            targets = {photos[0]: renamed, photos[1]: moved}
            targets.update({p: root / "food" / p.name for p in photos[3:]})
            wait_for(
                lambda: all(indexed(library, t) for t in targets.values()), what="moved photos"
            )
            assert service.wait_idle(10)
            for old, new in targets.items():
                photo = library.photo_by_path(new)
                assert photo.id == before[old].id  # the same row
                assert (library.visual_vector(photo.id) == vectors[old]).all()
                assert library.photo_by_path(old) is None
            assert tiny_encoder.calls == calls  # nothing was embedded again
            assert library.status_counts() == {
                "pending": 0,
                "indexed": 6,
                "missing": 0,
                "offline": 0,
                "error": 0,
            }
    assert any(c.reason == "move" and c.moved for c in changes)


def test_a_move_the_observer_cannot_pair_is_found_by_content_hash(tmp_path, tiny_encoder):
    root, outside = tmp_path / "photos", tmp_path / "elsewhere"
    photos = copy_sample(root, ["dog"], per_class=2)
    outside.mkdir()
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        with watching(library, tiny_encoder):
            photo_id = library.photo_by_path(photos[0]).id
            calls = tiny_encoder.calls
            shutil.move(photos[0], outside / "x.jpg")  # out of the watched folder: missing
            wait_for(lambda: library.photo(photo_id).status == "missing", what="missing")
            shutil.move(outside / "x.jpg", root / "back.jpg")  # and back in, under a new name
            wait_for(lambda: indexed(library, root / "back.jpg"), what="moved back")
            assert library.photo_by_path(root / "back.jpg").id == photo_id
            assert tiny_encoder.calls == calls


def test_deleted_photo_leaves_the_results(tmp_path, tiny_encoder):
    root = tmp_path / "photos"
    photos = copy_sample(root, ["dog", "pizza"], per_class=2)
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        with watching(library, tiny_encoder):
            searcher = Searcher(library, lambda: tiny_encoder)
            assert len(searcher.library_photos()) == 4
            photos[0].unlink()
            shutil.rmtree(root / "pizza")
            wait_for(lambda: library.status_counts()["missing"] == 3, what="deleted photos missing")
            paths = {r.path for r in searcher.library_photos()}
            assert paths == {str(photos[1])}
            similar = searcher.similar_to_photo(library.photo_by_path(photos[1]).id, k=10)
            assert similar == []


def test_a_burst_of_500_files_loses_no_event_and_comes_in_few_batches(tmp_path, tiny_encoder):
    root = tmp_path / "photos"
    root.mkdir()
    changes: list[Changes] = []
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        with watching(library, tiny_encoder, changes=changes):
            created = []
            for i in range(500):  # new folders appear during the burst too
                folder = root / f"batch{i // 100}"
                folder.mkdir(exist_ok=True)
                target = folder / f"copy_{i:04d}.jpg"
                shutil.copyfile(SAMPLES[i % len(SAMPLES)], target)
                created.append(target)
            wait_for(lambda: library.status_counts()["indexed"] == 500, 60, "500 photos indexed")
            assert all(indexed(library, p) for p in created)
            assert library.status_counts()["error"] == 0
        syncs = [c for c in changes if c.reason == "sync"]
        assert sum(c.added for c in syncs) == 500
        assert len(syncs) <= 20, [c.added for c in syncs]  # batches, not 500 jobs
        assert tiny_encoder.calls == 500


def test_half_written_file_is_not_read_until_complete(tmp_path, tiny_encoder):
    root = tmp_path / "photos"
    copy_sample(root, ["dog"], per_class=1)
    data = SAMPLES[5].read_bytes()
    seen: list[tuple[str, str | None]] = []
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        with watching(library, tiny_encoder) as service:
            target = root / "slow.jpg"

            def observe() -> bool:
                photo = library.photo_by_path(target)
                if photo is not None:
                    seen.append((photo.status, photo.content_hash))
                return photo is not None and photo.status == "indexed"

            with open(target, "wb") as f:
                f.write(data[: len(data) // 2])
                f.flush()
                # well past debounce + settle: only "still open for writing" holds it back
                deadline = time.monotonic() + 1.5
                while time.monotonic() < deadline:
                    observe()
                    time.sleep(0.02)
                assert library.photo_by_path(target) is None
                f.write(data[len(data) // 2 :])
            wait_for(observe, what="the completed file indexed")
            assert service.wait_idle(10)
    full = hashlib.blake2b(data, digest_size=16).hexdigest()
    assert all(status != "error" for status, _ in seen)
    assert {h for _, h in seen if h} == {full}


def test_a_stalled_copy_without_close_events_waits_for_a_stable_size(tmp_path, tiny_encoder):
    """Polling has no open/close events: two equal stat checks are the guard."""
    root = tmp_path / "photos"
    root.mkdir()
    data = SAMPLES[7].read_bytes()
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root, use_polling=True)
        with watching(library, tiny_encoder, settle=1.0) as service:
            assert service.watch_modes() == {str(root): "polling"}
            target = root / "growing.jpg"
            with open(target, "wb") as f:
                for start in range(0, len(data), len(data) // 4):  # grows every 0.3 s
                    f.write(data[start : start + len(data) // 4])
                    f.flush()
                    time.sleep(0.3)
                    photo = library.photo_by_path(target)
                    assert photo is None, "registered while still growing"
            wait_for(lambda: indexed(library, target), what="polled photo indexed")
            assert library.photo_by_path(target).size == len(data)


def test_changes_while_stopped_are_picked_up_on_restart(tmp_path, tiny_encoder):
    root = tmp_path / "photos"
    photos = copy_sample(root, ["dog", "pizza"], per_class=3)
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        with watching(library, tiny_encoder):
            wait_for(lambda: library.status_counts()["indexed"] == 6)
        moved_id = library.photo_by_path(photos[1]).id
        # while nothing watches: one added, one deleted, one renamed, one rewritten
        shutil.copyfile(SAMPLES[100], root / "new.jpg")
        photos[0].unlink()
        photos[1].rename(root / "renamed.jpg")
        shutil.copyfile(SAMPLES[200], photos[2])
        calls = tiny_encoder.calls
        with watching(library, tiny_encoder):
            assert indexed(library, root / "new.jpg")
            assert library.photo_by_path(photos[0]).status == "missing"
            assert library.photo_by_path(root / "renamed.jpg").id == moved_id
            assert indexed(library, photos[2])
            assert tiny_encoder.calls == calls + 2  # the new and the rewritten photo only
        # the same service object can be started again
        service = WatchService(library, lambda: tiny_encoder, **FAST)
        service.start()
        assert service.wait_idle(30)
        service.stop()
        service.start()
        assert service.wait_idle(30)
        shutil.copyfile(SAMPLES[300], root / "again.jpg")
        wait_for(lambda: indexed(library, root / "again.jpg"))
        service.stop()


def test_pause_and_resume(tmp_path, tiny_encoder):
    root = tmp_path / "photos"
    root.mkdir()
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        with watching(library, tiny_encoder) as service:
            service.pause()
            assert service.state == "paused" and service.paused
            shutil.copyfile(SAMPLES[0], root / "a.jpg")
            wait_for(lambda: library.photo_by_path(root / "a.jpg"), what="registered")
            assert not service.wait_idle(0.5)  # registered, but not embedded while paused
            assert library.photo_by_path(root / "a.jpg").status == "pending"
            service.resume()
            wait_for(lambda: indexed(library, root / "a.jpg"))
            wait_for(lambda: service.state == "watching")


def test_folders_added_and_removed_while_running(tmp_path, tiny_encoder):
    first, second = tmp_path / "first", tmp_path / "second"
    copy_sample(first, ["dog"], per_class=2)
    copy_sample(second, ["pizza"], per_class=2)
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(first)
        with watching(library, tiny_encoder) as service:
            service.add_folder(second)
            wait_for(lambda: library.status_counts()["indexed"] == 4)
            wait_for(lambda: service.watch_modes().get(str(second)) == "native")
            shutil.copyfile(SAMPLES[0], second / "new.jpg")
            wait_for(lambda: indexed(library, second / "new.jpg"))
            assert service.remove_folder(second)
            wait_for(lambda: str(second) not in service.watch_modes())
            assert library.status_counts()["indexed"] == 2


def test_unplugged_folder_goes_offline_and_comes_back(tmp_path, tiny_encoder):
    root = tmp_path / "drive"
    copy_sample(root, ["dog"], per_class=3)
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        with watching(library, tiny_encoder) as service:
            calls = tiny_encoder.calls
            root.rename(tmp_path / "unplugged")
            wait_for(lambda: library.status_counts()["offline"] == 3, what="offline")
            assert library.status_counts()["missing"] == 0
            assert service.watch_modes() == {str(root): "offline"}
            assert not library.folders()[0].online
            (tmp_path / "unplugged").rename(root)
            wait_for(lambda: library.status_counts()["indexed"] == 3, what="back online")
            wait_for(lambda: service.watch_modes() == {str(root): "native"})
            shutil.copyfile(SAMPLES[0], root / "new.jpg")  # and it is watched again
            wait_for(lambda: indexed(library, root / "new.jpg"))
            assert tiny_encoder.calls == calls + 1


def test_inotify_watch_limit_falls_back_to_periodic_rescans(
    tmp_path, tiny_encoder, monkeypatch, caplog
):
    from watchdog.observers.api import BaseObserver

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(BaseObserver, "schedule", full)
    root = tmp_path / "photos"
    copy_sample(root, ["dog"], per_class=1)
    caplog.set_level(logging.WARNING, logger="photosearch")
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        with watching(library, tiny_encoder) as service:
            assert service.watch_modes() == {str(root): "rescan"}
            assert "inotify watch limit reached" in caplog.text
            assert "max_user_watches" in caplog.text
            shutil.copyfile(SAMPLES[0], root / "new.jpg")
            (root / "dog" / "image_0001.jpg").unlink()
            wait_for(lambda: indexed(library, root / "new.jpg"), what="found by a rescan")
            wait_for(lambda: library.status_counts()["missing"] == 1)


def test_a_failing_step_is_retried_and_loses_nothing(tmp_path, tiny_encoder, monkeypatch):
    import photosearch.core.indexing.watcher as watcher

    real = watcher.sync_paths
    failures: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append(1)
            raise DatabaseError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(watcher, "sync_paths", flaky)
    root = tmp_path / "photos"
    root.mkdir()
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        with watching(library, tiny_encoder) as service:
            shutil.copyfile(SAMPLES[0], root / "a.jpg")
            wait_for(lambda: indexed(library, root / "a.jpg"), what="indexed after the retry")
            assert failures and service.running


def test_worker_runs_at_lower_priority(tmp_path, tiny_encoder):
    if not sys.platform.startswith("linux"):
        pytest.skip("per-thread priority is Linux-only")
    seen: list[int] = []

    def factory() -> TinyEncoder:
        import threading

        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return tiny_encoder

    with Library(tmp_path / "lib.db") as library:
        service = WatchService(library, factory, **FAST)
        service.start()
        assert service.wait_idle(30)
        service.stop()
    assert seen == [min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)]


def test_real_model_photo_becomes_searchable(tmp_path, real_encoder):
    root = tmp_path / "photos"
    root.mkdir()
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        with watching(library, real_encoder):
            new = copy_sample(root, ["dog", "pizza"], per_class=3)
            wait_for(lambda: all(indexed(library, p) for p in new), 60, "indexed")
            results = Searcher(library, lambda: real_encoder).similar_to_image(new[0], k=2)
            assert all("/dog/" in r.path for r in results), results


CLI_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from helpers import TinyEncoder
import photosearch.cli.common as common
common.load_encoder_from = lambda args: TinyEncoder()  # the real CLI, a fast model
from photosearch.cli import main
qt = [m for m in sys.modules if m.startswith(("PySide6", "PyQt"))]
assert not qt, qt
code = main(["watch", "--db", {db!r}, {root!r}])
qt = [m for m in sys.modules if m.startswith(("PySide6", "PyQt"))]
assert not qt, qt
raise SystemExit(code)
"""


def test_watch_command_indexes_and_stops_cleanly_on_sigint(tmp_path):
    root = tmp_path / "photos"
    copy_sample(root, ["dog"], per_class=2)
    db_path = tmp_path / "lib.db"
    script = CLI_SCRIPT.format(tests=str(Path(__file__).parent), db=str(db_path), root=str(root))
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log_lines: list[str] = []
    try:

        def logged(text: str) -> bool:
            assert proc.stderr is not None and proc.poll() is None, "".join(log_lines)
            line = proc.stderr.readline()
            log_lines.append(line)
            return text in line

        wait_for(lambda: logged("indexed 2 photo"), 60, "the start-up index")
        shutil.copyfile(SAMPLES[0], root / "new.jpg")
        wait_for(lambda: logged("indexed 1 photo"), 30, "the new photo indexed")
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = "".join(log_lines) + rest
    assert proc.returncode == 0, output
    assert "stopped" in output
    with Library(db_path) as library:
        assert library.status_counts()["indexed"] == 3
        assert indexed(library, root / "new.jpg")
