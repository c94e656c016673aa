"""How close a WordNet sense is to each of the classes the image model can see.

A sense with ImageNet classes below it is fully related to them ("dog" -> the 118 breeds). A sense
with none ("pigeon", "wheelchair", "emu") borrows from its nearest relatives in the hierarchy, as in
knowledge transfer for unseen classes (Rohrbach et al. 2010, "What helps where – and why? Semantic
relatedness for knowledge transfer"): the classes below each of its ancestors are related to it by

    DECAY ** (levels up to that ancestor) * IC(ancestor)

where IC is the ancestor's intrinsic information content (Seco et al. 2004; 1 for a leaf, 0 for
``entity``). The nearer and the more specific the shared ancestor, the stronger the link: an emu
is an ostrich's sibling under "ratite" (one level, specific), a pigeon reaches every bird (two
levels, "bird" is broad), and an abstraction such as "the bass range of a voice" reaches nothing
but the vaguest classes of "abstraction" or "entity" (IC near 0).

The largest of these numbers is the sense's *visibility*: how well a photo search can show it, and
they are what a photo's confidence rests on (a relative is never more than half a match).

For *ranking*, the nearest relative counts more: the classes below the lowest ancestor that has
classes at all are where the unseen thing would sit among what the model knows (the "most related
known classes" of Rohrbach et al.). They are weighted by relatedness and by how specific the
relative is among the model's classes:

    Lin(sense, class) * (1 - log(classes below the relative) / log(1000))

Lin's similarity (Lin 1998, the WordNet measure Rohrbach et al. use) is 2 IC(ancestor) /
(IC(sense) + IC(class)); the second factor is the same information content counted over the 1000
classes instead of WordNet's synsets: a relative with one class (ratite: the ostrich) places the
word precisely, one with a hundred ("container", where WordNet puts the handbag) hardly at all, and
the word-vector neighbours (mailbag, purse) then keep the lead. How many WordNet levels lie in
between does not matter: intermediate synsets without classes ("ephemeropteran", "sauropod") say
nothing about the classes, and WordNet is much deeper in biology than among artifacts, so a count
of levels buried the brontosaurus's triceratops (three levels up) under word-vector noise.
"""

from __future__ import annotations

import numpy as np

from photosearch.core.text.wordnet import WordNet
from photosearch.core.vision.imagenet import NUM_CLASSES

# Relatedness halves with each level up to the shared ancestor: the same decay the synset vectors
# give hypernym lemmas (SemanticConfig.hypernym_weight).
DECAY = 0.5
MAX_LEVELS = 20  # deep enough for any noun synset in WordNet 3.0 (the deepest has 19 levels)


class ClassRelatedness:
    """Per-synset class weights in [0, 1] (cached: a query touches a handful of synsets)."""

    def __init__(self, wordnet: WordNet, transfer: bool = True) -> None:
        self.wordnet = wordnet
        self.transfer = transfer  # False: only the classes below a sense (an ablation)
        self._cache: dict[int, np.ndarray] = {}
        self._ranking: dict[int, np.ndarray] = {}
        self._placement: dict[int, float] = {}
        self._class_ic: np.ndarray | None = None

    def weights(self, row: int) -> np.ndarray:
        """(1000,) float32: 1 for the classes below ``row``, transferred weights otherwise."""
        found = self._cache.get(row)
        if found is None:
            found = self._compute(row)
            found.setflags(write=False)
            self._cache[row] = found
        return found

    def ranking_weights(self, row: int) -> np.ndarray:
        """(1000,) float32: :meth:`weights`, with the classes below the nearest relative raised to
        their Lin similarity to ``row`` times the relative's specificity (module docstring)."""
        found = self._ranking.get(row)
        if found is None:
            found = self.weights(row).copy()
            placed = float(found.max())
            relative = self._nearest_class_ancestors(row)
            if relative:
                lin, similarity = self._lin(row, relative)
                found = np.maximum(found, lin)
                placed = max(placed, similarity)
            found.setflags(write=False)
            self._ranking[row] = found
            self._placement[row] = placed
        return found

    def placement(self, row: int) -> float:
        """How closely WordNet places ``row`` among the model's classes: 1 when classes lie below
        it, else its Lin similarity to its nearest relative's classes (however many they are: a
        mayfly is placed among the insects, even though they are 27)."""
        if row not in self._placement:
            self.ranking_weights(row)
        return self._placement[row]

    def _nearest_class_ancestors(self, row: int) -> list[int]:
        """The most specific ancestors with classes below them (none if ``row`` has classes)."""
        if len(self.wordnet.descendant_classes(row)):
            return []
        related = [a for a, _ in self._related_ancestors(row)]
        if not related:
            return []
        best = max(self.wordnet.information_content(a) for a in related)
        return [a for a in related if self.wordnet.information_content(a) >= best]

    def _lin(self, row: int, ancestors: list[int]) -> tuple[np.ndarray, float]:
        """Lin's similarity of ``row`` to the classes below ``ancestors`` times how specific each
        ancestor is among the model's classes (module docstring), and the largest similarity."""
        if self._class_ic is None:
            rows = self.wordnet.class_rows
            self._class_ic = np.array([self.wordnet.information_content(int(r)) for r in rows])
        lin = np.zeros(NUM_CLASSES, np.float32)
        own = self.wordnet.information_content(row)
        best = 0.0
        for ancestor in ancestors:
            classes = self.wordnet.descendant_classes(ancestor)
            shared = 2.0 * max(self.wordnet.information_content(ancestor), 0.0)
            similarity = np.minimum(shared / (own + self._class_ic[classes]), 1.0)
            specific = 1.0 - np.log(len(classes)) / np.log(NUM_CLASSES)
            lin[classes] = np.maximum(lin[classes], similarity * specific)
            best = max(best, float(similarity.max()))
        return lin, best

    def visibility(self, row: int) -> float:
        return float(self.weights(row).max())

    def nearest_relative(self, row: int) -> int | None:
        """The ancestor whose classes ``row`` is most related to (None when classes lie below
        ``row`` itself, or none are related)."""
        if len(self.wordnet.descendant_classes(row)):
            return None
        related = [(value, ancestor) for ancestor, value in self._related_ancestors(row)]
        return max(related)[1] if related and max(related)[0] > 0 else None

    def _compute(self, row: int) -> np.ndarray:
        weights = np.zeros(NUM_CLASSES, np.float32)
        below = self.wordnet.descendant_classes(row)
        if len(below):
            weights[below] = 1.0
            return weights
        for ancestor, value in self._related_ancestors(row):
            classes = self.wordnet.descendant_classes(ancestor)
            weights[classes] = np.maximum(weights[classes], value)
        return weights

    def _related_ancestors(self, row: int) -> list[tuple[int, float]]:
        """(ancestor, relatedness) for each ancestor of ``row`` with classes below it."""
        if not self.transfer:
            return []
        return [
            (ancestor, DECAY**levels * max(self.wordnet.information_content(ancestor), 0.0))
            for ancestor, levels in self.wordnet.ancestors(row, MAX_LEVELS)
            if len(self.wordnet.descendant_classes(ancestor))
        ]
