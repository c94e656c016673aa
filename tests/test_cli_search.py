"""`photosearch search / tags / eval / status` end to end on a real library (in-process CLI)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import SAMPLE, run_json

from photosearch.cli import main
from photosearch.core.library.store import Library
from photosearch.core.library.vectors import SEMANTIC_TABLE


@pytest.fixture
def db(sample_db):  # type: ignore[no-untyped-def]
    return str(sample_db)


def test_search_finds_unlabelled_photos_by_words(db, capsys):
    for query, folder in [
        ("dog", "dog"),
        ("pizza", "pizza"),
        ("flower", "sunflower"),
        ("motorcycle", "motorbike"),
    ]:
        results = run_json(capsys, "search", query, "-k", "8", "--db", db)
        assert len(results) == 8
        hits = sum(f"/{folder}/" in r["path"] for r in results)
        assert hits >= 6, (query, [r["path"] for r in results])
        assert results[0]["score"] >= results[-1]["score"]


def test_words_missing_from_the_vocabulary_work_through_wordnet(db, capsys):
    results = run_json(capsys, "search", "kangaroo", "-k", "5", "--db", db)  # not in the 10k GloVe
    assert sum("/kangaroo/" in r["path"] for r in results) >= 4


def test_a_query_with_no_known_word_is_a_clear_error(db, capsys):
    assert main(["search", "xqzvbnw", "--db", db]) == 2
    err = capsys.readouterr().err
    assert "none of the words" in err and "xqzvbnw" in err


def test_negative_term_pushes_photos_away(db, capsys):
    plain = run_json(capsys, "search", "animal", "-k", "30", "--db", db)
    minus = run_json(capsys, "search", "animal -dog", "-k", "30", "--db", db)
    assert sum("/dog/" in r["path"] for r in plain) > sum("/dog/" in r["path"] for r in minus)


def test_image_plus_words_and_filters(db, capsys):
    query = SAMPLE / "sunflower" / "image_0001.jpg"
    results = run_json(capsys, "search", "--image", str(query), "flower", "-k", "5", "--db", db)
    assert str(query) not in {r["path"] for r in results}  # the query photo itself is excluded
    assert sum("/sunflower/" in r["path"] for r in results) >= 4
    none = run_json(capsys, "search", "dog", "--before", "1990-01-01", "--db", db)
    assert none == []  # the sample photos' dates are their file times, long after 1990


def test_tags_read_as_words(db, capsys):
    out = run_json(capsys, "tags", str(SAMPLE / "pizza" / "image_0001.jpg"), "--db", db)
    tags = [t["tag"] for t in out[0]["tags"]]
    assert "pizza" in tags[:2]
    assert not {"the", "of", "and", "a"} & set(tags)


def test_switching_word_space_recomputes_text_vectors_not_visual_ones(db, capsys, tmp_path):
    with Library(db) as library:
        before_space = library.semantic_space()
        visual_before = library.reader().query(
            "SELECT photo_id, embedding FROM vec_visual ORDER BY photo_id"
        )
    results = run_json(capsys, "search", "dog", "-k", "5", "--debias", "--db", db)
    assert sum("/dog/" in r["path"] for r in results) >= 4
    with Library(db) as library:
        assert library.semantic_space() != before_space and "debiased" in library.semantic_space()
        assert library.meta("debias_words") == "1"  # remembered for later commands
        rows = library.reader().scalar(f"SELECT COUNT(*) FROM {SEMANTIC_TABLE}")
        assert rows == 360
        visual_after = library.reader().query(
            "SELECT photo_id, embedding FROM vec_visual ORDER BY photo_id"
        )
    assert visual_after == visual_before
    # A word-vector file in GloVe text format (a real subset of the shipped vectors).
    from photosearch.core.text import WordSpace

    space = WordSpace.default()
    words = [w for w in space.kv.index_to_key[:3000]]
    path = tmp_path / "small.txt"
    with open(path, "w", encoding="utf-8") as f:
        for w in words:
            f.write(w + " " + " ".join(f"{x:.5f}" for x in np.asarray(space.kv[w])) + "\n")
    results = run_json(
        capsys, "search", "dog", "-k", "5", "--no-debias", "--word-vectors", str(path), "--db", db
    )
    assert sum("/dog/" in r["path"] for r in results) >= 4
    with Library(db) as library:
        assert "small" in library.semantic_space()
        assert library.meta("word_vectors_path") == str(path)


def test_status_reports_counts_and_the_word_space(db, capsys):
    data = run_json(capsys, "status", "--db", db)
    assert data["counts"]["indexed"] == 360 and data["photos"] == 360
    assert data["model"].startswith("efficientnet_lite0") and data["word_space"]


def test_classify_prints_top5_labels_as_json(capsys):
    out = run_json(capsys, "classify", str(SAMPLE / "pizza" / "image_0001.jpg"))
    assert out[0]["path"].endswith("pizza/image_0001.jpg")
    labels = out[0]["labels"]
    assert len(labels) == 5 and labels[0]["label"] == "pizza"
    assert labels[0]["probability"] >= labels[-1]["probability"] > 0


def _labelled_folder(root, classes, per_class):  # type: ignore[no-untyped-def]
    from helpers import copy_sample

    copy_sample(root, classes, per_class=per_class)
    return root


def test_eval_reports_every_method_on_a_labelled_folder(tmp_path, capsys):
    folder = _labelled_folder(tmp_path / "labelled", ["dog", "pizza", "sunflower", "airplane"], 5)
    report = run_json(capsys, "eval", str(folder))
    assert report["photos"] == 20 and report["labels"] == 4 and report["unindexed"] == 0
    assert report["visual_image_p_at_10"] > 0.3
    methods = {m["method"]: m for m in report["methods"]}
    assert {"library", "conse-plain", "full (default)"} <= set(methods)
    assert methods["full (default)"]["readable_queries"] == 4
    assert methods["full (default)"]["text_p_at_10"] >= methods["conse-plain"]["text_p_at_10"]


def test_train_writes_a_projection_that_search_can_use(db, tmp_path, capsys):
    folder = _labelled_folder(tmp_path / "train", ["dog", "pizza", "sunflower", "car"], 5)
    out = tmp_path / "projection.npz"
    assert main(["train", str(folder), "--out", str(out), "--epochs", "20"]) == 0
    capsys.readouterr()
    assert out.is_file()
    results = run_json(capsys, "search", "pizza", "-k", "5", "--projection", str(out), "--db", db)
    assert sum("/pizza/" in r["path"] for r in results) >= 4
    with Library(db) as library:
        assert library.semantic_space().startswith("proj-")


@pytest.mark.parametrize("command", ["index", "watch"])
def test_folder_arguments_are_checked_before_anything_is_written(command, tmp_path, capsys):
    db = tmp_path / "lib.db"
    assert main([command, str(tmp_path / "no-such-folder"), "--db", str(db)]) == 2
    assert "not a folder:" in capsys.readouterr().err
    assert not db.exists()
    assert main([command, "--db", str(db)]) == 2
    assert f"no folders in the library yet: photosearch {command} DIR" in capsys.readouterr().err
