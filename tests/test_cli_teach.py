"""`photosearch teach / words / train` end to end on a real library (in-process CLI)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import SAMPLE, TinyEncoder, copy_sample, run_json

from photosearch.cli import main


@pytest.fixture
def db(sample_db):  # type: ignore[no-untyped-def]
    return str(sample_db)


def photos(folder: str, n: int, start: int = 0) -> list[str]:
    return [str(p) for p in sorted((SAMPLE / folder).glob("*.jpg"))[start : start + n]]


def test_teach_then_search_and_list_the_word(db, capsys):  # type: ignore[no-untyped-def]
    taught = run_json(
        capsys, "teach", "Rex", *photos("dog", 4), "--not", *photos("leopard", 1), "--db", db
    )
    assert (taught["word"], taught["positives"], taught["negatives"]) == ("rex", 4, 1)
    results = run_json(capsys, "search", "rex", "-k", "6", "--db", db)
    assert all("/dog/" in r["path"] for r in results)  # the six dogs it was not shown
    assert not {r["path"] for r in results} & set(photos("dog", 4))
    assert results[0]["match"] == "good"
    combined = run_json(capsys, "search", "rex + pizza", "-k", "10", "--db", db)
    assert any("/pizza/" in r["path"] for r in combined)
    listed = run_json(capsys, "words", "--db", db)
    assert [(w["word"], w["positives"], w["current"]) for w in listed] == [("rex", 4, True)]
    assert main(["words", "--db", db]) == 0
    assert "rex: 4 photos, 1 not" in capsys.readouterr().out
    assert main(["teach", "rex", *photos("dog", 2, start=4), "--db", db]) == 0  # adds examples
    assert "from 6 photos" in capsys.readouterr().out


def test_words_remove_export_import(db, tmp_path, capsys):  # type: ignore[no-untyped-def]
    assert main(["teach", "rex", *photos("dog", 3), "--db", db]) == 0
    capsys.readouterr()
    out = tmp_path / "words.json"
    assert run_json(capsys, "words", "export", str(out), "--db", db)["exported"] == 1
    assert json.loads(out.read_text())["words"][0]["word"] == "rex"
    # --db before the action counts as well (not reset to the default library by the action)
    assert run_json(capsys, "words", "--db", db, "remove", "rex")["removed"] == "rex"
    assert run_json(capsys, "words", "--db", db) == []
    assert main(["words", "remove", "rex", "--db", db]) == 2
    assert "no taught word 'rex'" in capsys.readouterr().err
    assert run_json(capsys, "words", "import", str(out), "--db", db)["imported"] == ["rex"]
    assert run_json(capsys, "words", "rename", "rex", "fido", "--db", db)["word"] == "fido"
    assert [w["word"] for w in run_json(capsys, "words", "--db", db)] == ["fido"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["teach", "", "DOG0"], "the word is empty"),
        (["teach", "the of", "DOG0"], "only stop-words"),
        (["teach", "rex", "DOG0", "--not", "DOG0"], "same photo"),
        (["teach", "rex", "/no/such/photo.jpg"], "not a photo in the library"),
        (["teach", "rex", "OUTSIDE"], "not a photo in the library"),
    ],
)
def test_bad_teach_input_exits_2_and_changes_nothing(db, tmp_path, capsys, argv, message):  # type: ignore[no-untyped-def]
    outside = tmp_path / "outside.jpg"
    shutil.copy2(photos("dog", 1)[0], outside)
    argv = [{"DOG0": photos("dog", 1)[0], "OUTSIDE": str(outside)}.get(a, a) for a in argv]
    assert main([*argv, "--db", db]) == 2
    assert message in capsys.readouterr().err
    assert run_json(capsys, "words", "--db", db) == []


def test_import_from_another_image_model_is_refused(db, tmp_path, capsys):  # type: ignore[no-untyped-def]
    from photosearch.core.indexing.indexer import Indexer
    from photosearch.core.library.store import Library
    from photosearch.core.text import build_embedder

    assert main(["teach", "rex", *photos("dog", 3), "--db", db]) == 0
    out = tmp_path / "words.json"
    assert main(["words", "export", str(out), "--db", db]) == 0
    other = tmp_path / "other.db"
    copy_sample(tmp_path / "tiny", ["dog"], per_class=2)
    with Library(other) as library:
        library.add_folder(tmp_path / "tiny")
        Indexer(library, TinyEncoder(), build_embedder()).run()
    capsys.readouterr()
    assert main(["words", "import", str(out), "--db", str(other)]) == 2
    assert "another image model" in capsys.readouterr().err
    assert run_json(capsys, "words", "--db", str(other)) == []


def test_train_teaches_every_label_of_a_labelled_folder(tmp_path, capsys, real_encoder):  # type: ignore[no-untyped-def]
    folder = tmp_path / "labelled"
    copy_sample(folder, ["dog", "pizza", "sunflower"], per_class=6)
    db = str(tmp_path / "lib.db")
    assert main(["train", str(folder), "--db", db]) == 2
    assert "photosearch index" in capsys.readouterr().err
    assert main(["index", str(folder), "--db", db]) == 0
    capsys.readouterr()
    report = run_json(capsys, "train", str(folder), "--db", db)
    assert [(w["word"], w["positives"]) for w in report["words"]] == [
        ("dog", 6),
        ("pizza", 6),
        ("sunflower", 6),
    ]
    later = tmp_path / "later" / "sunflower"  # photos indexed after teaching
    copy_sample(tmp_path / "all", ["sunflower"], per_class=10)
    later.parent.mkdir()
    (tmp_path / "all" / "sunflower").rename(later)
    for taught in (folder / "sunflower").iterdir():
        (later / taught.name).unlink()
    assert main(["index", str(later.parent), "--db", db]) == 0
    capsys.readouterr()
    results = run_json(capsys, "search", "sunflower", "-k", "4", "--db", db)
    assert sorted(Path(r["path"]).parent for r in results) == [later] * 4
