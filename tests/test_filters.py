"""Date and camera filters end to end: EXIF written with Pillow -> indexer -> `photosearch similar`.

Dogs carry EXIF from a "Google Pixel 7" taken in 2019, pizzas from a "Canon EOS 80D" in 2021;
sunflowers have no EXIF at all, so their date is the file's modification time (set to 2015).
Every file's mtime is set far from its EXIF date, so a test passing proves EXIF wins over mtime.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from helpers import SAMPLE, TinyEncoder
from PIL import Image

from photosearch.cli import main
from photosearch.core.indexing.indexer import Indexer
from photosearch.core.library.store import Library
from photosearch.core.search.searcher import Filters, Searcher

EXIF_IFD = 0x8769
DATETIME_ORIGINAL = 0x9003
MAKE, MODEL = 0x010F, 0x0110


def stamp(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


def write_photo(
    src: Path, dest: Path, taken: str | None, make: str | None, model: str | None, mtime: float
) -> None:
    exif = Image.Exif()
    if make:
        exif[MAKE] = make
    if model:
        exif[MODEL] = model
    if taken:
        exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = taken
    dest.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(src) as im:
        im.save(dest, "JPEG", quality=92, exif=exif.tobytes() if len(exif) or taken else b"")
    os.utime(dest, (mtime, mtime))


@pytest.fixture(scope="module")
def library_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("filters") / "photos"
    far_future = stamp("2024-06-01T12:00:00")
    for k, src in enumerate(sorted((SAMPLE / "dog").glob("*.jpg"))[:10]):
        taken = f"2019:{k + 1:02d}:15 10:30:00"
        write_photo(src, root / "dog" / src.name, taken, "Google", "Pixel 7", far_future)
    for k, src in enumerate(sorted((SAMPLE / "pizza").glob("*.jpg"))[:10]):
        taken = f"2021:{k + 1:02d}:03 19:00:00"
        write_photo(src, root / "pizza" / src.name, taken, "Canon", "Canon EOS 80D", far_future)
    for src in sorted((SAMPLE / "sunflower").glob("*.jpg"))[:10]:
        write_photo(src, root / "sunflower" / src.name, None, None, None, stamp("2015-06-01"))
    db = root.parent / "lib.db"
    with Library(db) as library:
        library.add_folder(root)
        summary = Indexer(library, TinyEncoder()).run()
        assert summary.embedded == 30 and summary.errors == 0
    return db, root


def similar(db: Path, image: Path, capsys: pytest.CaptureFixture[str], *opts: str) -> list[str]:
    capsys.readouterr()
    assert main(["similar", str(image), "--db", str(db), "--json", *opts]) == 0
    return [r["path"] for r in json.loads(capsys.readouterr().out)]


def folder_of(path: str) -> str:
    return Path(path).parent.name


def test_indexer_stores_exif_date_and_camera_and_falls_back_to_mtime(library_db):
    db, root = library_db
    with Library(db) as library:
        dog = library.photo_by_path(root / "dog" / "image_0001.jpg")
        pizza = library.photo_by_path(root / "pizza" / "image_0001.jpg")
        flower = library.photo_by_path(root / "sunflower" / "image_0001.jpg")
    assert dog is not None and pizza is not None and flower is not None
    assert dog.taken_at == stamp("2019-01-15T10:30:00") and dog.camera == "Google Pixel 7"
    assert pizza.camera == "Canon EOS 80D"  # the make is not repeated
    assert flower.taken_at is None and flower.camera is None
    assert flower.date == pytest.approx(stamp("2015-06-01"))


def test_camera_filter_returns_exactly_k_matching(library_db, capsys):
    db, root = library_db
    # The query is a pizza: unfiltered, pizzas and sunflowers compete with the dogs for the top 5.
    query = root / "pizza" / "image_0001.jpg"
    paths = similar(db, query, capsys, "-k", "5", "--camera", "pixel")
    assert len(paths) == 5
    assert {folder_of(p) for p in paths} == {"dog"}


def test_date_range_returns_only_photos_taken_in_it(library_db, capsys):
    db, root = library_db
    query = root / "pizza" / "image_0001.jpg"
    paths = similar(
        db, query, capsys, "-k", "50", "--after", "2019-01-01", "--before", "2020-01-01"
    )
    assert len(paths) == 10 and {folder_of(p) for p in paths} == {"dog"}
    # Months: February up to (not including) May 2019 -> dogs 2, 3 and 4.
    paths = similar(db, query, capsys, "-k", "50", "--after", "2019-02", "--before", "2019-05")
    assert sorted(Path(p).name for p in paths) == sorted(
        p.name for p in sorted((root / "dog").glob("*.jpg"))[1:4]
    )


def test_dates_fall_back_to_file_time_without_exif(library_db, capsys):
    db, root = library_db
    query = root / "dog" / "image_0001.jpg"
    paths = similar(db, query, capsys, "-k", "3", "--before", "2016-01-01")
    assert len(paths) == 3 and {folder_of(p) for p in paths} == {"sunflower"}
    # EXIF dates win over the (2024) file times: nothing of the dogs or pizzas is "after 2024".
    paths = similar(db, query, capsys, "-k", "50", "--after", "2024-01-01")
    assert paths == []


def test_filters_combine_and_exclude_the_query(library_db, capsys):
    db, root = library_db
    query = root / "pizza" / "image_0001.jpg"
    paths = similar(db, query, capsys, "-k", "4", "--after", "2021", "--camera", "EOS")
    assert len(paths) == 4 and {folder_of(p) for p in paths} == {"pizza"}
    assert str(query) not in paths
    paths = similar(db, query, capsys, "-k", "50", "--after", "2021", "--camera", "EOS")
    assert len(paths) == 9  # all other pizzas, fewer than k because only 9 match
    assert similar(db, query, capsys, "--camera", "Nikon") == []


def test_filtered_results_are_the_best_matching_in_score_order(library_db):
    db, root = library_db
    with Library(db) as library:
        searcher = Searcher(library)
        query = root / "sunflower" / "image_0001.jpg"
        unfiltered = searcher.similar_to_image(query, k=30)
        expected = [r.path for r in unfiltered if folder_of(r.path) == "dog"][:3]
        filtered = searcher.similar_to_image(query, k=3, filters=Filters(camera="Pixel"))
    assert [r.path for r in filtered] == expected
    scores = [r.score for r in filtered]
    assert scores == sorted(scores, reverse=True)


def test_bad_date_is_a_usage_error(library_db, capsys):
    db, root = library_db
    with pytest.raises(SystemExit) as exc:
        main(["similar", str(root / "dog" / "image_0001.jpg"), "--db", str(db), "--after", "May"])
    assert exc.value.code == 2
    assert "not a date" in capsys.readouterr().err
