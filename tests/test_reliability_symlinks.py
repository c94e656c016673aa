"""Symbolic links never pull in what is outside the watched folders (issue 19, item 7).

``ln -s / lib/rootlink`` once indexed 57,394 files of the system. A link is followed only to a
target inside a watched root that the walk would not reach under its own path; a link to a
folder already walked is an alias (each photo is indexed once, under its real path); a link
outside the roots, or into /proc, /sys or /dev, is reported and never followed. The same rule
holds for the scan (``index``) and for the watcher (native events and polling). Real links on a
real file system; the tiny encoder stands in for the model.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import SAMPLE, WATCH_FAST, TinyEncoder

from photosearch.core.indexing.indexer import Indexer
from photosearch.core.indexing.scanner import LinkPolicy, walk_photos
from photosearch.core.indexing.watcher import WatchService
from photosearch.core.library.store import Library

PHOTOS = sorted(SAMPLE.glob("*/*.jpg"))


def put(folder: Path, name: str, index: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PHOTOS[index], folder / name)
    return folder / name


def stored_paths(library: Library) -> set[str]:
    return {p.path for p in library.photos_with_status("indexed")}


def test_links_to_photos_outside_the_root_are_not_followed(tmp_path: Path) -> None:
    root, outside = tmp_path / "library", tmp_path / "elsewhere"
    own = put(root, "own.jpg")
    put(outside, "a.jpg", 1)
    put(outside / "deeper", "b.jpg", 2)
    (root / "album").symlink_to(outside, target_is_directory=True)
    (root / "single.jpg").symlink_to(outside / "a.jpg")
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        summary = Indexer(library, TinyEncoder(), decode_workers=2).run()
        assert stored_paths(library) == {str(own)}
    problems = dict(summary.problems)
    for link in ("album", "single.jpg"):
        assert "outside the watched folders" in problems[str(root / link)]


def test_a_link_inside_the_root_indexes_each_photo_once_under_its_real_path(
    tmp_path: Path,
) -> None:
    """An alias named to be walked first, and a loop back to the root: one row per photo."""
    root = tmp_path / "library"
    photo = put(root / "zreal", "p.jpg")
    other = put(root / "zreal" / "sub", "q.jpg", 1)
    (root / "0alias").symlink_to(root / "zreal", target_is_directory=True)
    (root / "zreal" / "loop").symlink_to(root, target_is_directory=True)
    (root / "0alias.jpg").symlink_to(photo)
    encoder = TinyEncoder()
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        summary = Indexer(library, encoder, decode_workers=2).run()
        assert stored_paths(library) == {str(photo), str(other)}
        assert library.reader().scalar("SELECT COUNT(*) FROM photos") == 2
        assert encoder.calls == 2
    assert summary.problems == []  # aliases are not problems


def test_a_link_into_a_hidden_folder_of_the_root_is_followed_once(tmp_path: Path) -> None:
    root = tmp_path / "library"
    hidden = put(root / ".private", "h.jpg")
    (root / "shown").symlink_to(root / ".private", target_is_directory=True)
    (root / ".private" / "again").symlink_to(root / ".private", target_is_directory=True)
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root)
        Indexer(library, TinyEncoder(), decode_workers=2).run()
        assert stored_paths(library) == {str(root / "shown" / hidden.name)}


def test_a_link_to_the_system_root_is_not_followed(tmp_path: Path) -> None:
    """Quick: the walk yields the root's own photo and stops, it never lists the system."""
    root = tmp_path / "library"
    own = put(root, "own.jpg")
    (root / "rootlink").symlink_to("/", target_is_directory=True)
    (root / "proc").symlink_to("/proc/self", target_is_directory=True)
    problems: list[tuple[str, str]] = []
    started = time.monotonic()
    found = []
    for entry in walk_photos(str(root), problems):
        found.append(entry.path)
        assert len(found) < 10, f"the walk left the root: {found}"
    assert found == [str(own)]
    assert time.monotonic() - started < 5
    messages = dict(problems)
    assert "outside the watched folders" in messages[str(root / "rootlink")]
    assert "system folders are never followed" in messages[str(root / "proc")]


def test_proc_sys_and_dev_are_refused_even_below_a_root_of_slash(tmp_path: Path) -> None:
    link = tmp_path / "to-proc"
    link.symlink_to("/proc/self", target_is_directory=True)
    policy = LinkPolicy([str(tmp_path), "/"])
    assert "never followed" in (policy.verdict(str(link), True) or "")
    for tree in ("/sys", "/dev"):
        other = tmp_path / tree.strip("/")
        other.symlink_to(tree, target_is_directory=True)
        assert "never followed" in (policy.verdict(str(other), True) or "")
    etc = tmp_path / "etc"
    etc.symlink_to("/etc", target_is_directory=True)
    assert policy.verdict(str(etc), True) == ""  # below the root "/": an alias, not a problem


@pytest.mark.parametrize("polling", [False, True], ids=["native", "polling"])
def test_the_watcher_does_not_follow_links_out_of_the_root(tmp_path: Path, polling: bool) -> None:
    root, outside = tmp_path / "library", tmp_path / "elsewhere"
    root.mkdir()
    put(outside, "a.jpg", 1)
    put(outside / "deeper", "b.jpg", 2)
    encoder = TinyEncoder()
    with Library(tmp_path / "lib.db") as library:
        library.add_folder(root, use_polling=polling)
        service = WatchService(library, lambda: encoder, **WATCH_FAST)
        service.start()
        try:
            assert service.wait_idle(60)
            (root / "album").symlink_to(outside, target_is_directory=True)
            (root / "single.jpg").symlink_to(outside / "a.jpg")
            (root / "rootlink").symlink_to("/", target_is_directory=True)
            # a poll (or a batch of events) that sees the sentinel has seen the links
            sentinel = put(root, "sentinel.jpg", 3)
            wait_for(lambda: str(sentinel) in stored_paths(library), "the new photo indexed")
            assert service.wait_idle(30)
            rows = {r[0] for r in library.reader().query("SELECT path FROM photos")}
            assert rows == {str(sentinel)}
        finally:
            service.stop()
        assert service.error is None


def wait_for(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)
