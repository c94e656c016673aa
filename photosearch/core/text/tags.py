"""Tags for a photo: readable words from its ImageNet classes, their WordNet ancestors and the
word space.

1. *Category tags*: every WordNet synset at or above the photo's top classes gets the probability
   mass of its classes among them ("dog" gets the sum over the breeds). Synsets that are too
   general to be useful as a tag (more than ``MAX_CLASSES`` ImageNet classes below them: "animal",
   "artifact", "object") are skipped, as are names that are not everyday words.
2. *Associated words*: the vocabulary words nearest to the photo's semantic vector that WordNet
   knows as nouns ("sea" for a photo of a liner), which adds context the classes lack.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from photosearch.core.text.semantic import SemanticModel, default_model
from photosearch.core.text.stopwords import STOP_WORDS
from photosearch.core.vision.imagenet import class_names

if TYPE_CHECKING:
    from photosearch.core.text.wordnet import WordNet

MAX_CLASSES = 150  # a synset with more ImageNet classes below it is too general for a tag
MIN_MASS = 0.08  # probability mass a category needs to be a tag
MIN_ASSOCIATION = 0.65  # cosine an associated word needs (weaker neighbours in 50d GloVe are noise)
MIN_DEPTH = 8  # shallower synsets ("vehicle", "device", "container") are too abstract for a tag
ANCESTOR_FACTOR = 0.8  # a category tag ranks a little below a class of the same mass
_READABLE = re.compile(r"[a-z][a-z' -]*[a-z]")


def photo_tags(
    top_ids: np.ndarray,
    top_probs: np.ndarray,
    semantic: np.ndarray | None = None,
    model: SemanticModel | None = None,
    n: int = 8,
) -> list[tuple[str, float]]:
    """Up to ``n`` (tag, score) for one photo, best first. ``top_ids``/``top_probs``: its (K,)
    top classes; ``semantic``: its stored semantic vector (adds associated words)."""
    model = model or default_model()
    wordnet = model.wordnet
    mass: dict[int, float] = {}
    for class_id, prob in zip(
        np.asarray(top_ids).tolist(), np.asarray(top_probs).tolist(), strict=True
    ):
        if prob < 0.01:
            continue
        row = int(wordnet.class_rows[int(class_id)])
        for node in [row] + [r for r, _ in wordnet.ancestors(row)]:
            mass[node] = mass.get(node, 0.0) + float(prob)

    scored: dict[str, float] = {}
    seen_forms: set[str] = set()

    def add(word: str, score: float) -> None:
        forms = set(wordnet.base_forms(word))
        if forms & seen_forms:
            return
        seen_forms.update(forms)
        scored[word] = score

    # The classes themselves, by their display names; then their ancestors.
    names = class_names()
    for class_id, prob in zip(
        np.asarray(top_ids).tolist(), np.asarray(top_probs).tolist(), strict=True
    ):
        if prob >= MIN_MASS:
            add(names[int(class_id)], float(prob))
    categories = sorted(mass.items(), key=lambda kv: (-kv[1], -wordnet.depth(kv[0]), kv[0]))
    for row, value in categories:
        if (
            value < MIN_MASS
            or wordnet.class_index(row) is not None
            or len(wordnet.descendant_classes(row)) > MAX_CLASSES
            or wordnet.depth(row) < MIN_DEPTH
        ):
            continue
        name = _readable_name(model, row)
        if name is not None:
            add(name, ANCESTOR_FACTOR * value)

    if semantic is not None and np.any(semantic):
        seen_rows = [
            row
            for row, value in mass.items()
            if value >= MIN_MASS
            and (wordnet.class_index(row) is not None or wordnet.depth(row) >= MIN_DEPTH)
        ]
        for word, cos in model.space.nearest(np.asarray(semantic, np.float32), n=60):
            if cos < MIN_ASSOCIATION:
                break
            if (
                _usable_word(model, word)
                and not _unseen_visible_thing(wordnet, word, mass)
                and _defined_with(wordnet, word, seen_rows)
            ):
                add(word, 0.5 * cos * max(scored.values(), default=1.0))
    ranked = sorted(scored.items(), key=lambda kv: -kv[1])
    return ranked[:n]


def _defined_with(wordnet: WordNet, word: str, rows: list[int]) -> bool:
    """Whether WordNet's definitions tie ``word`` to what the photo shows: it occurs in the gloss
    of one of the photo's classes or categories ("liner: a large commercial *ship*…"), or one
    of them occurs in the gloss of a sense of the word. Word-vector neighbours without such a tie
    drift off topic (a compass photo's neighbours run on to "quantum" and "gravity")."""
    forms = set(wordnet.base_forms(word))
    for row in rows:
        if forms.intersection(wordnet.synset(row).gloss):
            return True
    names = {lemma for row in rows for lemma in wordnet.synset(row).lemmas}
    return any(names.intersection(wordnet.synset(sense).gloss) for sense, _ in wordnet.lookup(word))


# Roots of WordNet's concrete things: living things, made objects, and food.
_CONCRETE_ROOTS = ("organism", "artifact", "food")


def _unseen_visible_thing(wordnet: WordNet, word: str, mass: dict[int, float]) -> bool:
    """Whether ``word`` mainly names a concrete thing (an organism, an artifact, a food) that the
    classifier does not see in this photo. Such neighbours in the word space ("zebra" next to
    "flamingo", "cat" next to "dog") read as false claims about the photo; scene and activity
    words ("sea", "meadow", "sailing") remain as associations."""
    roots = _concrete_roots(wordnet)
    unseen = 0.0
    for row, weight in wordnet.lookup(word):
        if mass.get(row, 0.0) >= MIN_MASS:
            return False  # the photo does show it
        if row in roots or any(r in roots for r, _ in wordnet.ancestors(row)):
            unseen += weight
    return unseen >= 0.2  # even a minor concrete sense ("alligator" the leather) reads as a claim


_roots_cache: dict[int, frozenset[int]] = {}


def _concrete_roots(wordnet: WordNet) -> frozenset[int]:
    key = id(wordnet)
    if key not in _roots_cache:
        rows: set[int] = set()
        for word in _CONCRETE_ROOTS:
            senses = wordnet.lookup(word)
            rows.update(
                row for row, _ in senses[:2]
            )  # food: both "food, nutrient" and "solid food"
        _roots_cache[key] = frozenset(rows)
    return _roots_cache[key]


def _readable_name(model: SemanticModel, row: int) -> str | None:
    """The synset's first lemma a person would write: lowercase everyday words the word space
    knows (no Latin genus name, no proper noun, no "heavier-than-air craft")."""
    for lemma in model.wordnet.synset(row).lemmas:
        if not _READABLE.fullmatch(lemma) or lemma != lemma.lower():
            continue
        if model.space.vector(lemma) is not None or all(w in model.space for w in lemma.split()):
            return lemma
    return None


def _usable_word(model: SemanticModel, word: str) -> bool:
    if word in STOP_WORDS or len(word) < 3 or not word.isalpha() or not word.islower():
        return False
    senses = model.wordnet.senses(word)
    # A noun WordNet knows, in its base form (skip "boats" next to "boat").
    return bool(senses)
