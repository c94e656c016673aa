"""The shipped WordNet resource: hierarchy, morphology, words the vocabulary lacks."""

from __future__ import annotations

import numpy as np
import pytest

from photosearch.core.text.query import compile_query
from photosearch.core.text.semantic import default_model
from photosearch.core.text.wordnet import WordNet
from photosearch.core.vision.imagenet import imagenet_classes


@pytest.fixture(scope="module")
def wordnet() -> WordNet:
    return WordNet.default()


def _classes(wordnet: WordNet, word: str) -> set[int]:
    row, _ = wordnet.lookup(word)[0]
    return set(wordnet.descendant_classes(row).tolist())


def test_class_synsets_match_imagenet_wnids(wordnet: WordNet) -> None:
    for cls in imagenet_classes()[::50]:
        assert wordnet.class_synset(cls.index).wnid == cls.wnid


def test_hierarchy_sizes(wordnet: WordNet) -> None:
    assert len(_classes(wordnet, "dog")) >= 100
    assert len(_classes(wordnet, "bird")) >= 50
    assert len(_classes(wordnet, "vehicle")) >= 50
    names = [c.name for c in imagenet_classes()]
    assert names.index("golden retriever") in _classes(wordnet, "dog")
    assert names.index("tabby") not in _classes(wordnet, "dog")


@pytest.mark.parametrize(
    ("word", "lemma"),
    [("dogs", "dog"), ("geese", "goose"), ("women", "woman"), ("boxes", "box"),
     ("berries", "berry"), ("stop signs", "stop sign"), ("churches", "church")],
)  # fmt: skip
def test_base_forms(wordnet: WordNet, word: str, lemma: str) -> None:
    assert lemma in wordnet.base_forms(word)
    if lemma != "stop sign":
        assert wordnet.lookup(word)


def test_sense_weights(wordnet: WordNet) -> None:
    senses = wordnet.lookup("dog")
    assert abs(sum(w for _, w in senses) - 1.0) < 1e-6
    assert wordnet.synset(senses[0][0]).wnid == "n02084071" and senses[0][1] > 0.9


@pytest.mark.parametrize(
    "word", ["t-shirt", "kangaroo", "panda", "motorbike", "cellphone", "pagoda"]
)
def test_words_the_vocabulary_lacks(word: str) -> None:
    model = default_model()
    assert model.space.vector(word) is None  # not in the 10k GloVe...
    concept = model.concept(word)
    assert concept.known and concept.vector is not None  # ...but WordNet knows it
    if word != "pagoda":  # ImageNet has no pagoda class: its weights come from similarity
        assert concept.class_weights.max() == pytest.approx(1.0)  # names a class or an ancestor
    assert concept.class_weights.any()


def test_hedgehog_reaches_porcupine() -> None:
    """WordNet lists "hedgehog" as a name of the porcupine synset, an ImageNet class."""
    model = default_model()
    names = [c.name for c in imagenet_classes()]
    weights = model.concept("hedgehogs").class_weights
    assert int(np.argmax(weights)) == names.index("porcupine")


def test_phrase_lemma_kept_whole() -> None:
    model = default_model()
    assert model.units("soccer ball on grass") == [("soccer ball", 1.0), ("grass", 1.0)]
    assert model.units("stop sign") == [("stop", 1.0), ("sign", 2.0)]


def test_hierarchy_query_covers_breeds() -> None:
    compiled = compile_query("dog")
    names = [c.name for c in imagenet_classes()]
    full = compiled.class_weights >= 0.99
    assert full.sum() >= 100
    assert full[names.index("Chihuahua")] and not full[names.index("tabby")]
    assert np.all(compiled.class_weights <= 1.0 + 1e-6)
