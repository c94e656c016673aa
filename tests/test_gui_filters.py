"""The filter row end to end: date range, camera and sort over a real SQLite library of real
photos whose EXIF capture time and camera were written into copies of the sample photos.

The tiny random encoder stands in for the model (ranking quality is not the point here). A Qt
warning fails a test, and every test ends with all worker threads stopped.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from pathlib import Path

import pytest
from helpers import SAMPLE, TinyEncoder
from PIL import Image

from photosearch.gui.filter_bar import ANY, LAST_30
from photosearch.gui.main_window import MainWindow

TIMEOUT = 20_000
EXIF_IFD, DATETIME_ORIGINAL, MAKE, MODEL = 0x8769, 0x9003, 0x010F, 0x0110
CANON, PIXEL = "Canon EOS 5D", "Google Pixel 7"
RECENT = dt.datetime.now().replace(microsecond=0) - dt.timedelta(days=10)


def utc(*args: int) -> float:
    return dt.datetime(*args, tzinfo=dt.timezone.utc).timestamp()  # type: ignore[misc]


def write_photo(
    src: Path, dest: Path, taken: dt.datetime | None, make: str = "", model: str = ""
) -> None:
    """A copy of ``src`` with EXIF DateTimeOriginal and Make/Model as given."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(src) as image:
        exif = image.getexif()
        if make:
            exif[MAKE] = make
        if model:
            exif[MODEL] = model
        if taken is not None:
            exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = taken.strftime("%Y:%m:%d %H:%M:%S")
        image.save(dest, exif=exif, quality=90)


@pytest.fixture
def library_photos(tmp_path: Path) -> dict[str, float]:
    """12 photos: 4 from a Canon (March 2016), 4 from a Pixel (June 2022), 4 without a camera
    (one taken 10 days ago, three with only a file date in January 2012).
    Returns path -> the date the grid sorts by."""
    root = tmp_path / "photos"
    dates: dict[str, float] = {}
    for i, src in enumerate(sorted((SAMPLE / "dog").glob("*.jpg"))[:4]):
        taken = dt.datetime(2016, 3, 1 + i, 9 + i)
        write_photo(src, root / "canon" / src.name, taken, "Canon", CANON)
        dates[str(root / "canon" / src.name)] = utc(2016, 3, 1 + i, 9 + i)
    for i, src in enumerate(sorted((SAMPLE / "car").glob("*.jpg"))[:4]):
        taken = dt.datetime(2022, 6, 10 + i, 15)
        write_photo(src, root / "pixel" / src.name, taken, "Google", "Pixel 7")
        dates[str(root / "pixel" / src.name)] = utc(2022, 6, 10 + i, 15)
    pizzas = sorted((SAMPLE / "pizza").glob("*.jpg"))[:4]
    write_photo(pizzas[0], root / "other" / pizzas[0].name, RECENT)
    dates[str(root / "other" / pizzas[0].name)] = RECENT.replace(tzinfo=dt.timezone.utc).timestamp()
    for i, src in enumerate(pizzas[1:]):
        dest = root / "other" / src.name
        shutil.copy(src, dest)
        stamp = utc(2012, 1, 5 + i, 12)
        os.utime(dest, (stamp, stamp))
        dates[str(dest)] = stamp
    return {str(Path(p).resolve()): d for p, d in dates.items()}


@pytest.fixture
def window(open_window, library_photos, tmp_path, qtbot):  # type: ignore[no-untyped-def]
    """A window on the indexed 12-photo library, its camera list loaded."""
    win = open_window(tmp_path / "lib.db", TinyEncoder())
    win.add_folder(str(tmp_path / "photos"))
    qtbot.waitUntil(lambda: rows(win) == 12, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not win.ctx.indexing.running, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: win.filter_bar.camera_combo.count() == 3, timeout=TIMEOUT)
    return win


def rows(window: MainWindow) -> int:
    return window.results.model.rowCount()


def shown(window: MainWindow) -> list[str]:
    return [r.path for r in window.results.model.results()]


def folders(window: MainWindow) -> set[str]:
    return {Path(p).parent.name for p in shown(window)}


def wait_for(qtbot, window: MainWindow, n: int) -> None:  # type: ignore[no-untyped-def]
    """The search is done and the grid holds ``n`` photos."""
    qtbot.waitUntil(lambda: not window.controller._running and rows(window) == n, timeout=TIMEOUT)


# --- camera -----------------------------------------------------------------------------------
def test_the_filter_row_shows_once_there_are_photos(open_window, tmp_path, qtbot):
    window = open_window(tmp_path / "lib.db", TinyEncoder())
    qtbot.waitUntil(lambda: window.results.showing_empty() == "no-folders", timeout=TIMEOUT)
    assert not window.filter_bar.isVisible()  # nothing to filter yet
    window.add_folder(str(SAMPLE / "crab"))
    qtbot.waitUntil(lambda: rows(window) > 0, timeout=TIMEOUT)
    assert window.filter_bar.isVisible()
    assert not window.filter_bar.camera_combo.isEnabled()  # no photo names its camera


def test_the_camera_list_counts_photos_and_a_camera_shows_only_its_photos(window, qtbot):
    bar = window.filter_bar
    combo = bar.camera_combo
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "All cameras",
        f"{CANON} (4)",
        f"{PIXEL} (4)",
    ]
    assert not bar.clear_button.isVisible()

    combo.setCurrentIndex(combo.findData(PIXEL))
    wait_for(qtbot, window, 4)
    assert folders(window) == {"pixel"}
    assert bar.clear_button.isVisible()
    assert "4 photos" in window.results.detail.text()

    bar.clear_button.click()
    wait_for(qtbot, window, 12)
    assert combo.currentIndex() == 0
    assert not bar.clear_button.isVisible()


# --- dates ------------------------------------------------------------------------------------
def test_a_date_range_shows_only_the_photos_inside_it(window, library_photos, qtbot):
    bar = window.filter_bar
    bar.set_range(dt.date(2016, 3, 2), dt.date(2016, 3, 3))  # both days included
    assert bar.from_edit.isVisible() and bar.to_edit.isVisible()
    wait_for(qtbot, window, 2)
    inside = {p for p, d in library_photos.items() if utc(2016, 3, 2) <= d < utc(2016, 3, 4)}
    assert set(shown(window)) == inside

    bar.set_range(dt.date(2012, 1, 1), dt.date(2022, 6, 11))
    wait_for(qtbot, window, 3 + 4 + 2)
    assert folders(window) == {"other", "canon", "pixel"}

    bar.set_date_choice(LAST_30)  # the one photo taken 10 days ago
    assert not bar.from_edit.isVisible()
    wait_for(qtbot, window, 1)
    assert library_photos[shown(window)[0]] > utc(2023, 1, 1)

    bar.set_date_choice(ANY)
    wait_for(qtbot, window, 12)
    assert not bar.active()


def test_date_and_camera_combine_and_an_empty_outcome_offers_to_clear(window, qtbot):
    bar = window.filter_bar
    bar.set_camera(CANON)
    wait_for(qtbot, window, 4)
    bar.set_range(dt.date(2022, 1, 1), dt.date(2022, 12, 31))  # no Canon photo in 2022
    qtbot.waitUntil(lambda: window.results.showing_empty() == "filtered", timeout=TIMEOUT)
    empty = window.results.empty
    assert CANON in empty.body.text() and "2022" in empty.body.text()
    assert empty.button.isVisible() and empty.button.text() == "Clear Filters"

    empty.button.click()
    wait_for(qtbot, window, 12)
    assert not bar.active()
    assert window.results.showing_empty() == ""


# --- sorting ----------------------------------------------------------------------------------
def test_sorting_orders_the_library_by_date_and_is_remembered(
    window, library_photos, open_window, tmp_path, qtbot
):
    newest = sorted(library_photos, key=library_photos.__getitem__, reverse=True)
    assert shown(window) == newest  # the library: newest first
    bar = window.filter_bar
    bar.set_sort("oldest")
    qtbot.waitUntil(lambda: shown(window) == newest[::-1], timeout=TIMEOUT)
    assert "oldest first" in window.results.detail.text()
    assert window.ctx.settings.sort == "oldest"

    bar.set_camera(PIXEL)  # a filtered library keeps the order
    wait_for(qtbot, window, 4)
    assert shown(window) == [p for p in newest[::-1] if "/pixel/" in p]

    window.close()
    again = open_window(tmp_path / "lib.db", TinyEncoder())
    assert again.filter_bar.sort == "oldest"
    assert again.filter_bar.camera == ""  # filters are per session, the order is kept
    wait_for(qtbot, again, 12)
    assert shown(again) == newest[::-1]


def test_sorting_query_results_by_date_reorders_them_without_searching_again(
    window, library_photos, tmp_path, qtbot
):
    outside = tmp_path / "query.jpg"
    shutil.copy(sorted((SAMPLE / "car").glob("*.jpg"))[9], outside)
    window.controller.set_query("", str(outside))
    qtbot.waitUntil(lambda: window.results.title.text() == "Similar to query.jpg", timeout=TIMEOUT)
    wait_for(qtbot, window, 12)
    best = shown(window)
    scores = [r.score for r in window.results.model.results()]
    assert scores == sorted(scores, reverse=True)

    generation = window.controller._generation
    window.filter_bar.set_sort("newest")
    assert shown(window) == sorted(best, key=library_photos.__getitem__, reverse=True)
    assert "newest first" in window.results.detail.text()
    window.filter_bar.set_sort("oldest")
    assert shown(window) == sorted(best, key=library_photos.__getitem__)
    window.filter_bar.set_sort("best")
    assert shown(window) == best
    assert window.controller._generation == generation  # no search ran


# --- filters with an image query ----------------------------------------------------------------
def test_filters_apply_to_an_image_query(window, library_photos, tmp_path, qtbot):
    bar = window.filter_bar
    bar.set_camera(CANON)
    wait_for(qtbot, window, 4)

    # A photo of the library itself: it is left out of its own similar photos.
    query = next(p for p in library_photos if "/pixel/" in p)
    window.search_bar.set_image(query)
    qtbot.waitUntil(
        lambda: window.results.title.text() == f"Similar to {Path(query).name}", timeout=TIMEOUT
    )
    wait_for(qtbot, window, 4)
    assert folders(window) == {"canon"}
    assert window.results.model.kind == "query"

    bar.set_range(dt.date(2016, 3, 3), dt.date(2016, 3, 31))
    wait_for(qtbot, window, 2)
    assert all(library_photos[p] >= utc(2016, 3, 3) for p in shown(window))

    bar.set_sort("oldest")
    assert [library_photos[p] for p in shown(window)] == sorted(
        library_photos[p] for p in shown(window)
    )

    bar.clear()  # back to every photo but the query itself, the order kept
    wait_for(qtbot, window, 11)
    assert query not in shown(window)
    assert [library_photos[p] for p in shown(window)] == sorted(
        library_photos[p] for p in shown(window)
    )
    assert window.search_bar.image == query  # clearing filters keeps the query


# --- superseded searches ----------------------------------------------------------------------
def test_cancelled_jobs_do_not_leave_the_runner_busy(qtbot):
    """Filter changes in a row supersede queued searches: their callbacks are dropped, so the
    runner goes idle (a leak of callbacks kept ``busy`` true for ever)."""
    from photosearch.gui.tasks import TaskRunner

    runner = TaskRunner(1, "test")
    gate = threading.Event()
    got: list[object] = []
    runner.run(lambda: gate.wait(10) and "first", got.append)  # occupies the only thread
    for i in range(3):
        runner.run(lambda i=i: i, got.append)
    runner.cancel_queued()
    last = runner.run(lambda: "last", got.append)
    assert last > 0
    gate.set()
    qtbot.waitUntil(lambda: not runner.busy, timeout=TIMEOUT)
    assert got == ["first", "last"]
    assert runner.shutdown()
