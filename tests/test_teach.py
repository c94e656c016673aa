"""Taught words in the core: store and migration, fit, search in the query language, tags,
restart / move / re-index / new photos, export and import, feedback. Real photos, real SQLite."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from helpers import SAMPLE, TinyEncoder, copy_sample

from photosearch.core.indexing.indexer import Indexer
from photosearch.core.library.schema import SCHEMA_VERSION
from photosearch.core.library.store import Library
from photosearch.core.library.vector_index import VectorIndex
from photosearch.core.search.feedback import Feedback
from photosearch.core.search.searcher import Searcher
from photosearch.core.search.text_search import TextSearcher
from photosearch.core.teach.fit import FitError, background_rows, fit_word
from photosearch.core.teach.words import TeachError, Words
from photosearch.core.text import build_embedder


def texts_for(library: Library, encoder: object | None = None) -> TextSearcher:
    searcher = Searcher(
        library, (lambda: encoder) if encoder else None, VectorIndex(library, False)
    )
    return TextSearcher(searcher, build_embedder())


def ids_in(library: Library, folder: str) -> list[int]:
    return [
        p.id for p in library.photos_with_status("indexed") if Path(p.path).parent.name == folder
    ]


def folders_of(results) -> list[str]:  # type: ignore[no-untyped-def]
    return [Path(r.path).parent.name for r in results]


def index(library: Library, encoder: object) -> None:
    Indexer(library, encoder, build_embedder(), batch_size=8, decode_workers=2).run()


# --- store and migration ----------------------------------------------------------------------
def test_a_version_2_library_is_upgraded_and_keeps_its_photos(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    copy_sample(root, ["dog"], per_class=3)
    db = tmp_path / "lib.db"
    with Library(db) as library:
        library.add_folder(root)
        index(library, TinyEncoder())
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TABLE taught_examples")
    conn.execute("DROP TABLE taught_words")
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    with Library(db) as library:
        assert library.reader().scalar("PRAGMA user_version") == SCHEMA_VERSION == 3
        assert library.status_counts()["indexed"] == 3
        words = Words(library)
        assert words.list_words() == []
        taught = words.teach("Rex", ids_in(library, "dog")[:2])
        assert (taught.word, taught.positives, taught.current) == ("rex", 2, True)


def test_the_fit_is_stored_as_numbers_not_a_pickle(sample_db: Path) -> None:
    with Library(sample_db) as library:
        Words(library).teach("rex", ids_in(library, "dog")[:5])
        row = library.reader().query_one("SELECT weights, bias, model_id FROM taught_words")
        assert row is not None
        weights = np.frombuffer(row[0], "<f4")
        assert weights.shape == (library.visual_vector(1).shape[0],)  # type: ignore[union-attr]
        assert np.isfinite(weights).all() and np.isfinite(row[1])
        assert row[2] == library.visual_model()
        hashes = library.reader().query("SELECT content_hash, positive FROM taught_examples")
        assert len(hashes) == 5 and all(p == 1 for _, p in hashes)


# --- fit ----------------------------------------------------------------------------------------
def visual_vectors_and_folders(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The library's visual vectors and each photo's folder name (its label), row for row."""
    with Library(path) as library:
        snap = VectorIndex(library, False).snapshot()
        photos = library.photos(snap.ids.tolist())
    return snap.visual, np.array([Path(photos[int(i)].path).parent.name for i in snap.ids])


def test_the_fit_separates_unseen_photos_of_the_word(sample_library_path: Path) -> None:
    x, folder = visual_vectors_and_folders(sample_library_path)
    dogs = np.flatnonzero(folder == "dog")
    chosen, held_out = dogs[:5], dogs[5:]
    bg = background_rows(len(x), chosen, seed=0)
    for method in ("prototype", "logistic"):
        fitted = fit_word(x[chosen], None, x[bg], method)
        logits = fitted.scores(x)
        assert (logits[chosen] > 0).all()
        others = np.flatnonzero(folder != "dog")
        assert np.median(logits[held_out]) > np.percentile(logits[others], 95), method
        assert (logits[others] < 0).mean() > 0.9, method  # log-odds: most of the library is not it
    with pytest.raises(FitError):
        fit_word(x[:0], None, x[bg])


def test_explicit_negatives_push_their_look_alikes_down(sample_library_path: Path) -> None:
    x, folder = visual_vectors_and_folders(sample_library_path)
    dogs, cats = np.flatnonzero(folder == "dog"), np.flatnonzero(folder == "leopard")
    bg = background_rows(len(x), np.concatenate([dogs[:5], cats[:3]]), seed=0)
    plain = fit_word(x[dogs[:5]], None, x[bg]).scores(x)
    told = fit_word(x[dogs[:5]], x[cats[:3]], x[bg]).scores(x)
    assert told[cats[3:]].mean() < plain[cats[3:]].mean()


# --- search in the query language, tags ------------------------------------------------------------
def test_a_taught_word_finds_its_photos_and_works_in_the_query_language(sample_db: Path) -> None:
    with Library(sample_db) as library:
        texts = texts_for(library)
        dogs = ids_in(library, "dog")
        texts.words.teach("rex", dogs[:4])
        rex = texts.search("rex", k=10)
        assert not {r.photo_id for r in rex.results} & set(dogs[:4])  # examples are left out
        assert folders_of(rex.results[:6]) == ["dog"] * 6  # the other six dogs come first
        assert rex.good is not None and rex.good >= 4
        assert rex.results[0].match == "good"
        # + and - combine a taught word with ordinary words
        with_pizza = folders_of(texts.search("rex + pizza", k=10).results)
        assert "pizza" in with_pizza and "dog" in with_pizza
        animals = folders_of(texts.search("animal", k=10).results).count("dog")
        assert folders_of(texts.search("animal -rex", k=10).results).count("dog") < animals
        assert folders_of(texts.search("REX", k=10).results) == folders_of(rex.results)
        assert [(w.word, w.positives) for w in texts.words.in_query("2:rex + snow")] == [("rex", 4)]
        assert texts.words.in_query("snow -") == []


def test_a_word_wordnet_knows_is_blended_with_its_zero_shot_meaning(sample_db: Path) -> None:
    with Library(sample_db) as library:
        texts = texts_for(library)
        before = [r.photo_id for r in texts.search("pizza", k=10).results]
        texts.words.teach("pizza", ids_in(library, "pizza")[:1])
        after = texts.search("pizza", k=10)
        assert folders_of(after.results).count("pizza") >= 8
        assert [r.photo_id for r in after.results] != before  # the taught word is used


def test_taught_words_appear_in_the_tags_of_photos_that_show_them(sample_db: Path) -> None:
    with Library(sample_db) as library:
        texts = texts_for(library)
        dogs = ids_in(library, "dog")
        texts.words.teach("rex", dogs[:5])
        assert "rex" in [t for t, _ in texts.tags(dogs[7])]
        assert "rex" not in [t for t, _ in texts.tags(ids_in(library, "pizza")[0])]


# --- lifetime: restart, move, re-index, new photos ---------------------------------------------------
def test_a_word_survives_a_restart_a_move_and_a_reindex_with_another_model(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    copy_sample(root, ["dog", "pizza", "car"], per_class=6)
    db = tmp_path / "lib.db"
    with Library(db) as library:
        library.add_folder(root)
        index(library, TinyEncoder())
        Words(library).teach("rex", ids_in(library, "dog")[:3], ids_in(library, "pizza")[:1])
    (root / "moved").mkdir()
    (root / "dog").rename(root / "moved" / "dog")
    with Library(db) as library:  # restart, then the move is indexed
        index(library, TinyEncoder())
        words = Words(library)
        positives, negatives = words.examples("rex")
        assert len(positives) == 3 and len(negatives) == 1
        assert all("/moved/dog/" in library.photo(p).path for p in positives)  # type: ignore[union-attr]
    other = TinyEncoder(seed=1)
    other.model_id = "tiny-test-encoder-2"
    with Library(db) as library:  # another image model: every photo is embedded again
        index(library, other)
        words = Words(library)
        assert not words.get("rex").current  # type: ignore[union-attr]
        assert "rex" in words.fitted()  # refitted from its examples' new vectors
        word = words.get("rex")
        assert word is not None and word.current and word.model_id == "tiny-test-encoder-2"
        assert (word.positives, word.negatives) == (3, 1)


def test_a_photo_indexed_later_is_matched_with_no_extra_pass(tmp_path: Path, real_encoder) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "photos"
    copy_sample(root, ["dog", "pizza", "car", "chair", "cup"], per_class=10)
    later = tmp_path / "later"
    later.mkdir()
    for photo in sorted((root / "dog").glob("*.jpg"))[6:]:
        photo.rename(later / photo.name)
    db = tmp_path / "lib.db"
    with Library(db) as library:
        library.add_folder(root)
        index(library, real_encoder)
        texts = texts_for(library, real_encoder)
        texts.words.teach("rex", ids_in(library, "dog")[:5])
        for photo in later.iterdir():
            shutil.copy2(photo, root / "dog" / photo.name)
        index(library, real_encoder)  # what watching does; nothing about words runs
        new = {p for p in ids_in(library, "dog")} - set(ids_in(library, "dog")[:6])
        found = {r.photo_id for r in texts.search("rex", k=10).results}
        assert len(new) == 4 and new <= found


# --- bad input changes nothing -----------------------------------------------------------------------
def test_bad_input_is_refused_and_changes_nothing(sample_db: Path, tmp_path: Path) -> None:
    with Library(sample_db) as library:
        words = Words(library)
        dogs = ids_in(library, "dog")
        words.teach("rex", dogs[:3])
        before = words.list_words()
        for word, pos, neg, message in [
            ("", dogs[:2], [], "empty"),
            ("  the  of ", dogs[:2], [], "stop-words"),
            ("rex + snow", dogs[:2], [], "cannot be a word"),
            ("rex", dogs[:2], dogs[1:2], "same photo"),
            ("rex", [999999], [], "not an indexed photo"),
        ]:
            with pytest.raises(TeachError, match=message):
                words.teach(word, pos, neg)
        with pytest.raises(TeachError, match="not a photo in the library"):
            words.photo_ids_for_paths([SAMPLE / "dog" / "image_0001.jpg.nope"])
        assert words.list_words() == before


# --- export / import -------------------------------------------------------------------------------------
def test_export_then_import_into_another_library_of_the_same_model(
    sample_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "words.json"
    with Library(sample_db) as library:
        words = Words(library)
        words.teach("rex", ids_in(library, "dog")[:4], ids_in(library, "leopard")[:1])
        assert words.export(out) == 1
        expected = [r.photo_id for r in texts_for(library).search("rex", k=10).results]
    other_db = tmp_path / "other.db"
    root = tmp_path / "tiny"
    copy_sample(root, ["dog"], per_class=2)
    with Library(other_db) as other:  # another image model: refused, nothing imported
        other.add_folder(root)
        index(other, TinyEncoder())
        with pytest.raises(TeachError, match="another image model"):
            Words(other).import_file(out)
        assert Words(other).list_words() == []
    fresh = tmp_path / "fresh.db"
    shutil.copy2(sample_db, fresh)
    with Library(fresh) as library:
        words = Words(library)
        words.remove("rex")
        assert words.list_words() == []
        assert words.import_file(out) == ["rex"]
        word = words.get("rex")
        assert word is not None and (word.positives, word.negatives) == (4, 1)
        assert [r.photo_id for r in texts_for(library).search("rex", k=10).results] == expected
    out.write_text('{"format": "something else"}')
    with Library(fresh) as library, pytest.raises(TeachError, match="not a photosearch words"):
        Words(library).import_file(out)


def test_rename_and_remove(sample_db: Path) -> None:
    with Library(sample_db) as library:
        words = Words(library)
        words.teach("rex", ids_in(library, "dog")[:2])
        words.teach("fido", ids_in(library, "dog")[2:4])
        with pytest.raises(TeachError, match="already a word"):
            words.rename("rex", "Fido")
        assert words.rename("rex", "Rex the Dog").word == "rex the dog"
        assert [w.word for w in words.list_words()] == ["fido", "rex the dog"]
        assert words.remove("fido") and not words.remove("fido")
        assert library.reader().scalar("SELECT COUNT(*) FROM taught_examples") == 2


# --- feedback ------------------------------------------------------------------------------------------
def test_marks_refine_a_query_and_the_result_can_be_saved_as_a_word(sample_db: Path) -> None:
    with Library(sample_db) as library:
        texts = texts_for(library)
        feedback = Feedback(texts)
        plain = texts.search("animal", k=10).results
        marks = {r.photo_id: Path(r.path).parent.name == "dog" for r in plain[:6]}
        marks.update({p: True for p in ids_in(library, "dog")[:2]})
        refined = feedback.refine("animal", marks, k=10).results
        wrong = {p for p, ok in marks.items() if not ok}
        assert not wrong & {r.photo_id for r in refined}
        assert folders_of(refined).count("dog") > folders_of(plain).count("dog")
        word = feedback.save_as_word("my dogs", marks)
        assert word.positives == sum(marks.values()) and word.negatives == len(wrong)
        unmarked_dogs = 10 - sum(marks.values())
        found = folders_of(texts.search("my dogs", k=unmarked_dogs).results)
        assert found.count("dog") >= unmarked_dogs - 1


def test_more_like_these_leaves_the_selection_out(sample_db: Path) -> None:
    with Library(sample_db) as library:
        selection = ids_in(library, "sunflower")[:3]
        results = Feedback(texts_for(library)).more_like_these(selection, k=7).results
        assert not set(selection) & {r.photo_id for r in results}
        assert folders_of(results).count("sunflower") == 7
        with pytest.raises(TeachError):
            Feedback(texts_for(library)).more_like_these([999999])
