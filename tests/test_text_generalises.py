"""Text search on words it was not developed on: WordNet-wide behaviour (no photos needed), the
good/weak boundary and the note for words no photo class is close to (real library, CLI)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from photosearch.cli import main
from photosearch.core.text.lexical_check import class_name_check, plural
from photosearch.core.text.semantic import default_model
from photosearch.core.vision.imagenet import class_names, classes_by_name


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return default_model()


def top_class(model, word: str) -> str:  # type: ignore[no-untyped-def]
    return class_names()[int(np.argmax(model.concept(word).class_weights))]


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("beaver", "beaver"),  # the rodent is WordNet's 7th, untagged sense
        ("skunk", "skunk"),  # first sense: a despicable person
        ("hog", "hog"),
        ("wreck", "wreck"),
        ("plane", "plane"),  # ImageNet's class of that name (the tool) counts as a main sense
    ],
)
def test_a_class_name_puts_its_own_class_first(model, word, expected):
    weights = model.concept(word).class_weights
    own = list(classes_by_name()[expected])
    assert weights[own].max() == weights.max() > 0  # first, or tied first


def test_every_imagenet_class_name_puts_its_own_class_first(model):
    checked, failures = class_name_check(model)
    assert checked == 999 and failures == []


@pytest.mark.parametrize(
    ("word", "wanted"),
    [
        ("shoes", {"running shoe", "clog", "Loafer", "cowboy boot"}),  # not only "in his shoes"
        ("pants", {"jean"}),  # "pant" (trousers) is a base form too
    ],
)
def test_plurals_and_everyday_words_reach_their_classes(model, word, wanted):
    assert top_class(model, word) in wanted


def test_a_photo_search_prefers_senses_a_photo_can_show(model):
    wordnet = model.wordnet
    jacket = max(model.concept("jacket").synsets, key=lambda s: s[1])[0]
    assert "coat" in wordnet.synset(wordnet.synset(jacket).hypernyms[0]).lemmas  # the garment
    bass = max(model.concept("bass").synsets, key=lambda s: s[1])[0]
    assert wordnet.synset(bass).gloss[:2] != ("lowest", "musical")  # not the pitch


def test_a_plural_weighs_classes_as_its_singular(model):
    for word in ("dog", "butterfly", "wolf", "box", "mouse"):
        singular = model.concept(word).class_weights
        plural_weights = model.concept(plural(word, model.wordnet)).class_weights
        assert int(np.argmax(plural_weights)) == int(np.argmax(singular)), word


def test_a_word_without_a_class_borrows_from_its_nearest_relatives(model):
    emu = model.concept("emu")  # a ratite, like the ostrich
    assert top_class(model, "emu") == "ostrich"
    assert 0 < emu.closeness < 0.5
    wheelchair = model.concept("wheelchair")  # a chair
    chairs = list(classes_by_name()["rocking chair"]) + list(classes_by_name()["folding chair"])
    assert wheelchair.match_weights is not None and (wheelchair.match_weights[chairs] > 0.2).all()
    assert model.related_names(wheelchair) == ["chair"]  # the relative that leads its weights
    assert model.related_names(emu)[0] == "ostrich"


def test_relatives_are_weighted_by_how_specific_the_shared_ancestor_is(model):
    weights = model.relatedness.weights
    emu = model.wordnet.lookup("emu")[-1][0]  # the bird
    person = model.wordnet.lookup("buddha")[0][0]
    ostrich = classes_by_name()["ostrich"][0]
    groom = classes_by_name()["groom"][0]
    # "ratite" is specific: a strong link; "person" is broad in WordNet although ImageNet has only
    # three classes under it: a weak one.
    assert weights(emu)[ostrich] > 3 * weights(person)[groom]


def _classes_below(model, word: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    return model.wordnet.descendant_classes(model.wordnet.lookup(word)[0][0])


def test_an_unseen_word_is_ranked_by_its_nearest_relatives(model):
    # WordNet puts the brontosaurus three levels below "dinosaur" and the mayfly two below
    # "insect"; Lin's similarity places them there all the same (relatedness.py), where a count of
    # levels left the word-vector neighbours in front (agama; ImageNet's "stage").
    # (Among the 27 insect classes the mayfly is placed less precisely than the brontosaurus
    # beside the one dinosaur class: lower weights, still ahead of everything else.)
    brontosaurus = model.concept("brontosaurus")
    assert top_class(model, "brontosaurus") == "triceratops"
    triceratops = classes_by_name()["triceratops"][0]
    assert brontosaurus.class_weights[triceratops] > 0.5
    mayfly = model.concept("mayfly").class_weights
    insects = _classes_below(model, "insect")
    others = np.setdiff1d(_classes_below(model, "arthropod"), insects)  # ticks, crayfish, ...
    assert int(np.argmax(mayfly)) in insects
    assert mayfly[insects].min() > 1.5 * mayfly[others].max()
    # Ranking only: the confidence still says the word names no photo class.
    assert brontosaurus.closeness < 0.5 and mayfly.max() > brontosaurus.closeness


def test_word_vector_neighbours_fill_in_only_where_wordnet_leaves_a_word_unplaced(model):
    weights = model.concept("brontosaurus").class_weights
    triceratops = classes_by_name()["triceratops"][0]
    others = np.delete(weights, triceratops)
    assert 0 < others.max() < weights[triceratops] / 2  # the lizards stay well behind


def test_a_relative_with_many_classes_places_a_word_only_loosely(model):
    # WordNet puts the handbag straight under "container" (100 classes): spread over all of them
    # it would bury the word-vector neighbours (mailbag, purse) under chests and freight cars.
    weights = model.concept("handbag").class_weights
    assert top_class(model, "handbag") == "mailbag"
    container = _classes_below(model, "container")
    assert np.median(weights[container]) < 0.3  # Lin alone: 0.45-0.51


@pytest.mark.parametrize("word", ["possum", "mount", "bank", "skirt"])
def test_relatives_of_a_main_sense_do_not_outrank_classes_a_word_names(model, word):
    # Each has a class-less main sense and a sense with ImageNet classes below it: the classes it
    # names stay first (its relatives are ranked up only for words that name no class).
    weights = model.concept(word).class_weights
    own = np.concatenate(
        [model.wordnet.descendant_classes(r) for r, _ in model.wordnet.lookup(word)]
    )
    assert weights[own].max() == weights.max() > 0


@pytest.fixture(scope="module")
def db(tmp_path_factory, sample_library_path):  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("lib") / "lib.db"
    shutil.copy2(sample_library_path, path)
    return str(path)


def search_json(capsys, *argv: str) -> tuple[list[dict], str]:  # type: ignore[no-untyped-def]
    assert main(["search", *argv, "--json"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_json_results_say_good_or_weak_and_good_come_first(db, capsys):
    results, _ = search_json(capsys, "dog", "-k", "30", "--db", db)
    matches = [r["match"] for r in results]
    assert set(matches) == {"good", "weak"}
    first_weak = matches.index("weak")
    assert "good" not in matches[first_weak:]
    assert all("/dog/" in r["path"] for r in results[:first_weak])


def test_plain_output_draws_the_boundary(db, capsys):
    assert main(["search", "dog", "-k", "30", "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    good = int(lines[0].split()[0])
    assert lines[0].endswith("good matches") and good >= 5
    assert lines[good + 1] == "-- weaker matches --"


def test_a_word_no_class_is_close_to_says_so(db, capsys):
    results, err = search_json(capsys, "stapler", "-k", "5", "--db", db)
    assert "no photo class is close to 'stapler'; showing related:" in err
    assert [r["match"] for r in results] == ["weak"] * 5


def test_image_queries_carry_no_match_label(db, capsys, sample_dir):
    query = str(sample_dir / "dog" / "image_0001.jpg")
    results, _ = search_json(capsys, "--image", query, "-k", "3", "--db", db)
    assert results and all("match" not in r for r in results)
