"""The Duplicates dialog (offscreen): groups from a real library, and the trash flow.

send2trash and the confirmation are replaced; the "trash" is a folder under tmp_path, so the test
can check exactly which files left and that the original stays byte-identical.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from helpers import SAMPLE, TinyEncoder

pytest.importorskip("pytestqt")

from photosearch.core.indexing.indexer import Indexer  # noqa: E402
from photosearch.core.library.store import Library  # noqa: E402
from photosearch.gui import duplicates_view  # noqa: E402
from photosearch.gui.duplicates_view import DuplicatesDialog  # noqa: E402
from photosearch.gui.tasks import SyncRunner, TaskRunner  # noqa: E402


@pytest.fixture
def library(tmp_path: Path) -> dict[str, Path]:
    photos = tmp_path / "photos"
    photos.mkdir()
    original = photos / "original.jpg"
    copy = photos / "copy.jpg"
    other = photos / "other.jpg"
    shutil.copyfile(SAMPLE / "dog" / "image_0001.jpg", original)
    shutil.copyfile(original, copy)
    shutil.copyfile(SAMPLE / "pizza" / "image_0001.jpg", other)
    old = time.time() - 86400
    os.utime(original, (old, old))  # the older file is the suggested keeper of equal copies
    db = tmp_path / "lib.db"
    with Library(db) as lib:
        lib.add_folder(photos)
        assert Indexer(lib, TinyEncoder()).run().embedded == 3
    return {
        "db": db,
        "original": original,
        "copy": copy,
        "other": other,
        "trash": tmp_path / "trash",
    }


@pytest.fixture
def fake_trash(monkeypatch, library):  # type: ignore[no-untyped-def]
    calls: list[str] = []
    library["trash"].mkdir()

    def send2trash(path: str) -> None:
        calls.append(path)
        shutil.move(path, library["trash"] / Path(path).name)

    monkeypatch.setattr(duplicates_view, "send2trash", send2trash)
    return calls


@pytest.fixture
def open_dialog(qtbot):  # type: ignore[no-untyped-def]
    """``open_dialog(db)`` -> the dialog over an open library, as the app's (closed after)."""
    opened: list[Library] = []

    def open_(db: Path, runner: TaskRunner | None = None) -> DuplicatesDialog:
        lib = Library(db)
        opened.append(lib)
        # A strict threshold: the random test encoder's vectors do not find near-duplicates.
        dialog = DuplicatesDialog(lib, threshold=0.9999, runner=runner)
        qtbot.addWidget(dialog)
        if dialog.groups is None:
            with qtbot.waitSignal(dialog.groups_ready, timeout=30_000):
                pass
        return dialog

    yield open_
    for lib in opened:
        lib.close()


def statuses(dialog: DuplicatesDialog) -> dict[str, str]:
    photos = dialog.library.photos(range(1, 10)).values()
    return {Path(p.path).name: p.status for p in photos}


def test_groups_show_with_the_keeper_preselected(library, open_dialog):
    dialog = open_dialog(library["db"])
    assert dialog.error is None
    assert dialog.groups is not None and len(dialog.groups) == 1
    cards = dialog.cards[0]
    assert [Path(c.photo.path).name for c in cards] == ["original.jpg", "copy.jpg"]
    assert [c.keep.isChecked() for c in cards] == [True, False]
    assert cards[1].photo.exact and cards[1].photo.score == 1.0
    assert [p.path for p in dialog.selected_for_trash()] == [str(library["copy"])]
    assert dialog.trash_button.isEnabled()


def test_cancelled_confirmation_trashes_nothing(
    qtbot, library, fake_trash, monkeypatch, open_dialog
):
    dialog = open_dialog(library["db"])
    asked: list[int] = []

    def cancel(count: int, size: int) -> bool:
        asked.append(count)
        return False

    monkeypatch.setattr(dialog, "_confirm", cancel)
    before = {p: p.read_bytes() for p in (library["original"], library["copy"], library["other"])}
    qtbot.mouseClick(dialog.trash_button, duplicates_view.Qt.MouseButton.LeftButton)
    assert asked == [1]
    assert fake_trash == []
    for path, data in before.items():
        assert path.read_bytes() == data
    assert set(statuses(dialog).values()) == {"indexed"}
    assert len(dialog.groups or []) == 1


def test_confirmed_trash_moves_only_the_copy_and_marks_it_missing(
    qtbot, library, fake_trash, monkeypatch, open_dialog
):
    dialog = open_dialog(library["db"])
    monkeypatch.setattr(dialog, "_confirm", lambda count, size: count == 1)
    original_bytes = library["original"].read_bytes()
    original_stat = library["original"].stat()
    with qtbot.waitSignal(dialog.trashed, timeout=5000) as signal:
        qtbot.mouseClick(dialog.trash_button, duplicates_view.Qt.MouseButton.LeftButton)
    assert signal.args == [[str(library["copy"])]]
    assert fake_trash == [str(library["copy"])]
    assert not library["copy"].exists() and (library["trash"] / "copy.jpg").exists()
    assert library["original"].read_bytes() == original_bytes
    assert library["original"].stat().st_mtime == original_stat.st_mtime
    assert library["other"].exists()
    assert statuses(dialog) == {
        "original.jpg": "indexed",
        "copy.jpg": "missing",
        "other.jpg": "indexed",
    }
    assert dialog.groups == [] and "Moved 1 file" in dialog.status.text()


def test_a_group_must_keep_one_photo(library, fake_trash, monkeypatch, open_dialog):
    # The synchronous runner: the trash runs inside trash_unkept (the real one is tested above).
    dialog = open_dialog(library["db"], SyncRunner(1, "test"))
    trashed: list[list[str]] = []
    dialog.trashed.connect(trashed.append)
    asked: list[int] = []
    monkeypatch.setattr(dialog, "_confirm", lambda count, size: asked.append(count) or True)
    dialog.cards[0][0].keep.setChecked(False)
    assert dialog.trash_unkept() is False
    assert asked == [] and fake_trash == []
    assert library["original"].exists() and library["copy"].exists()
    # Keeping the copy instead of the original is allowed: then the original goes.
    dialog.cards[0][1].keep.setChecked(True)
    assert dialog.trash_unkept() is True
    assert trashed == [[str(library["original"])]] and fake_trash == [str(library["original"])]
    assert statuses(dialog)["original.jpg"] == "missing"


def test_no_duplicates(tmp_path, open_dialog):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copyfile(SAMPLE / "dog" / "image_0001.jpg", photos / "a.jpg")
    with Library(tmp_path / "lib.db") as lib:
        lib.add_folder(photos)
        Indexer(lib, TinyEncoder()).run()
    dialog = open_dialog(tmp_path / "lib.db")
    assert dialog.groups == [] and not dialog.trash_button.isEnabled()
    assert "No duplicates" in dialog.status.text()


def test_trashing_runs_off_the_gui_thread(qtbot, library, monkeypatch, open_dialog):
    """send2trash and the missing mark run on the dialog's worker, never on the GUI thread."""
    import threading

    library["trash"].mkdir()
    threads: list[threading.Thread] = []

    def send2trash(path: str) -> None:
        threads.append(threading.current_thread())
        shutil.move(path, library["trash"] / Path(path).name)

    monkeypatch.setattr(duplicates_view, "send2trash", send2trash)
    dialog = open_dialog(library["db"])
    monkeypatch.setattr(dialog, "_confirm", lambda count, size: True)
    with qtbot.waitSignal(dialog.trashed, timeout=5000):
        assert dialog.trash_unkept() is True
    assert threads and threads[0] is not threading.main_thread()
    assert statuses(dialog)["copy.jpg"] == "missing"
