"""Words and ImageNet classes in one word space; ConSE photo vectors; query concepts.

* A *synset vector* is the word-space vector of a WordNet noun synset: its lemmas, plus (less)
  its hypernyms' lemmas and the content words of its gloss. So a class whose name the vocabulary
  lacks ("tench", "Granny Smith", "wallaby") still gets a good vector ("freshwater fish", "apple").
* A *class vector* is the synset vector of an ImageNet class, with the class's display name.
* ConSE (Norouzi et al. 2014, "Zero-shot learning by convex combination of semantic
  embeddings"): a photo's semantic vector is the normalised, probability-weighted sum of the
  class vectors of its top-T classes.
* A *concept* is what a query word or phrase means: a word-space vector, and a weight per
  ImageNet class (1 for the classes under a WordNet synset the word names, e.g. all 118 dog
  breeds for "dog"; a smaller, similarity-based weight for the classes nearest in the word space).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from photosearch.core.errors import QueryError
from photosearch.core.text.relatedness import ClassRelatedness
from photosearch.core.text.stopwords import STOP_WORDS
from photosearch.core.text.wordnet import MAX_LEMMA_WORDS, WordNet
from photosearch.core.text.wordspace import WordSpace, normalize
from photosearch.core.vision.imagenet import (
    NUM_CLASSES,
    class_names,
    classes_by_name,
    imagenet_classes,
)

TOKEN_RE = re.compile(r"[a-z0-9][a-z0-9'&.-]*[a-z0-9]|[a-z0-9]")


@dataclass(frozen=True)
class SemanticConfig:
    """The method's few constants. Chosen from general considerations and checked on the dev set
    as a whole (docs/text-search.md); nothing is tuned per class."""

    lemma_other: float = 0.5  # weight of a synset's further lemmas relative to its first
    hypernym_weight: float = 0.5  # weight of the parent's lemmas (halving with each level up)
    hypernym_levels: int = 3
    gloss_weight: float = 0.3
    word_weight: float = 1.0  # the query word's own vector vs. its WordNet senses (1.0)
    conse_top: int = 10  # T of ConSE
    centre_classes: bool = False  # also remove the mean class vector (measured: no gain)
    sim_temperature: float = 0.05  # softness of the similarity-based class weights
    sim_top: int = 10  # classes that get a similarity-based weight
    csls: bool = True  # hubness correction of query-class similarities (see similar_class_weights)
    csls_k: int = 10
    sim_scale: float = 0.5  # similarity weights relative to a WordNet-hierarchy match (1.0)
    cosine_weight: float = 0.5  # weight of the ConSE cosine in a term's score
    # Switches for the ablations in docs/text-search.md (all on in the app).
    wordnet_class_vectors: bool = True  # False: a class vector is its display name's vector
    wordnet_query: bool = True  # False: a query word's vector is its own word vector only
    hierarchy: bool = True  # False: no WordNet-ancestor class mass
    part_weight: float = 0.5  # a part ("sail", "wheel") gives its wholes' classes this share
    sense_prior: bool = True  # weight senses by whether a photo can show them
    transfer: bool = True  # a sense with no class below it borrows from its relatives
    nearest_relative: bool = True  # rank an unseen word's nearest relatives by Lin similarity


@dataclass
class Concept:
    """What one query unit (a word or a multi-word lemma) means."""

    text: str
    vector: np.ndarray | None  # unit vector in the word space
    class_weights: np.ndarray  # (1000,) float32 in [0, 1]
    synsets: list[tuple[int, float]] = field(default_factory=list)  # WordNet (row, weight)
    in_vocabulary: bool = False
    # How the photo classes relate to the word through WordNet alone, unscaled: 1 on the classes
    # it names, less on relatives it borrows from ("emu" -> ostrich). A photo's probability mass
    # under these is the confidence that it shows the word.
    match_weights: np.ndarray | None = None

    @property
    def closeness(self) -> float:
        """1 when the word names photo classes, lower when it only has relatives among them, 0 when
        WordNet relates it to none."""
        return 0.0 if self.match_weights is None else float(self.match_weights.max())

    @property
    def known(self) -> bool:
        return self.vector is not None or bool(self.class_weights.any())


class UnknownQueryError(QueryError, ValueError):
    """No word of the query is known to the word space or to WordNet. Message is user-facing."""


class SemanticModel:
    """The word space, WordNet, and the ImageNet classes placed in the word space."""

    def __init__(
        self,
        space: WordSpace | None = None,
        wordnet: WordNet | None = None,
        config: SemanticConfig | None = None,
    ) -> None:
        self.space = space or WordSpace.default()
        self.wordnet = wordnet or WordNet.default()
        self.config = config or SemanticConfig()
        self.dim = self.space.dim
        self._synset_vectors: dict[int, np.ndarray | None] = {}
        self._lemma_vectors: dict[int, np.ndarray | None] = {}
        self.class_vectors = self._build_class_vectors()
        self.class_hubness = self._class_hubness()
        self.relatedness = ClassRelatedness(self.wordnet, self.config.transfer)
        self._physical_entity = self.wordnet.lookup("physical entity")[0][0]
        self._imageable: dict[int, float] = {}
        self._concepts: dict[str, Concept] = {}

    @property
    def space_id(self) -> str:
        return self.space.space_id

    # -- synsets in the word space ----------------------------------------------------------
    def lemma_vector(self, row: int) -> np.ndarray | None:
        """A synset's lemmas alone (first lemma weight 1, the others ``lemma_other``)."""
        if row not in self._lemma_vectors:
            lemmas = self.wordnet.synset(row).lemmas
            items = [
                (self.space.phrase_vector(lemma), 1.0 if i == 0 else self.config.lemma_other)
                for i, lemma in enumerate(lemmas)
            ]
            self._lemma_vectors[row] = self.space.mean_vector(items)
        return self._lemma_vectors[row]

    def gloss_vector(self, row: int) -> np.ndarray | None:
        words = self.wordnet.synset(row).gloss
        return self.space.mean_vector((self.space.vector(w), 1.0) for w in words)

    def synset_vector(self, row: int) -> np.ndarray | None:
        """Lemmas + hypernym lemmas (halving per level) + gloss words, normalised."""
        if row in self._synset_vectors:
            return self._synset_vectors[row]
        cfg = self.config
        items: list[tuple[np.ndarray | None, float]] = [(self.lemma_vector(row), 1.0)]
        levels: dict[int, list[int]] = {}
        for ancestor, depth in self.wordnet.ancestors(row, cfg.hypernym_levels):
            levels.setdefault(depth, []).append(ancestor)
        for depth, rows in levels.items():
            weight = cfg.hypernym_weight * 0.5 ** (depth - 1) / len(rows)
            items.extend((self.lemma_vector(r), weight) for r in rows)
        items.append((self.gloss_vector(row), cfg.gloss_weight))
        vec = self.space.mean_vector(items)
        self._synset_vectors[row] = vec
        return vec

    def _build_class_vectors(self) -> np.ndarray:
        vectors = np.zeros((NUM_CLASSES, self.dim), np.float32)
        for cls in imagenet_classes():
            row = int(self.wordnet.class_rows[cls.index])
            name = self.space.phrase_vector(cls.name)
            if self.config.wordnet_class_vectors:
                vec = self.space.mean_vector([(self.synset_vector(row), 1.0), (name, 0.5)])
            else:
                vec = name
            if vec is not None:
                vectors[cls.index] = vec
        if self.config.centre_classes:
            vectors = vectors - vectors.mean(axis=0)
        return normalize(vectors)

    def _class_hubness(self) -> np.ndarray:
        """Per class, the mean cosine to its ``csls_k`` nearest words among the 20k most
        frequent: how close the class is to words in general."""
        words = self.space.vectors[:20_000]
        k = self.config.csls_k
        hub = np.zeros(NUM_CLASSES, np.float32)
        for start in range(0, NUM_CLASSES, 250):
            sims = self.class_vectors[start : start + 250] @ words.T
            top = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
            hub[start : start + 250] = top.mean(axis=1)
        return hub

    # -- photos --------------------------------------------------------------------------
    def conse(self, top_ids: np.ndarray, top_probs: np.ndarray) -> np.ndarray:
        """ConSE semantic vectors (n, dim), L2-normalised, from each photo's top classes."""
        t = min(self.config.conse_top, top_ids.shape[1])
        ids = top_ids[:, :t]
        probs = top_probs[:, :t].astype(np.float32)
        vectors = np.einsum("nt,ntd->nd", probs, self.class_vectors[ids])
        return normalize(vectors)

    # -- query words -----------------------------------------------------------------------
    def concept(self, text: str) -> Concept:
        """The meaning of one word or multi-word lemma (never raises; see ``Concept.known``)."""
        key = " ".join(text.lower().split())
        found = self._concepts.get(key)
        if found is None:
            found = self._make_concept(key)
            self._concepts[key] = found
        return found

    def _make_concept(self, text: str) -> Concept:
        cfg = self.config
        senses = self._visible_senses(self.wordnet.lookup(text))
        word_vec = self.space.vector(text)
        if word_vec is None and not senses and " " not in text:
            for form in self.wordnet.base_forms(text)[1:]:  # plural of a word WordNet lacks
                word_vec = self.space.vector(form)
                if word_vec is not None:
                    break
        items: list[tuple[np.ndarray | None, float]] = [(word_vec, cfg.word_weight)]
        if cfg.wordnet_query:
            items += [(self.synset_vector(row), weight) for row, weight in senses]
        vector = self.space.mean_vector(items)
        if vector is None and " " in text:
            vector = self.space.phrase_vector(text)

        match, ranked, placed = (
            self._hierarchy_weights(text, senses) if cfg.hierarchy else (None, None, 0.0)
        )
        weights = np.zeros(NUM_CLASSES, np.float32) if ranked is None else ranked
        # Word-vector neighbours fill in only as far as WordNet leaves the word unplaced among the
        # classes: "beaver" (a class) gets none of their noise, "sunset" (no class) relies on
        # them, "brontosaurus" (placed beside the triceratops, Lin 0.65) gets a third of it.
        similar = self.similar_class_weights(vector)
        weights = np.maximum(weights, cfg.sim_scale * (1.0 - placed) * similar)
        return Concept(text, vector, weights, senses, word_vec is not None, match)

    def _visible_senses(self, senses: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Reweight senses by whether a photo can show them: a physical thing can (whether or
        not the model has a class for it), an abstraction only as far as it is related to photo
        classes (relatedness.py): "bass" the fish or the instrument before the pitch, "beaver"
        among its physical senses. Unchanged when no sense can be shown."""
        if not self.config.hierarchy or not self.config.sense_prior:
            return senses
        visible = [(row, w * self._imageability(row)) for row, w in senses]
        total = sum(w for _, w in visible)
        return [(row, w / total) for row, w in visible] if total > 0 else senses

    def _imageability(self, row: int) -> float:
        found = self._imageable.get(row)
        if found is None:
            physical = self._physical_entity in (a for a, _ in self.wordnet.ancestors(row))
            found = 1.0 if physical else self.relatedness.visibility(row)
            self._imageable[row] = found
        return found

    def _hierarchy_weights(
        self, text: str, senses: list[tuple[int, float]]
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """(1000,) WordNet class weights of a word, for the confidence and for ranking, and how
        closely WordNet places it among the classes: each sense's related classes, scaled by the
        sense's weight relative to the strongest; a part ("sail") gives its wholes a share. The
        two differ only for a word that names no class, ranked by its nearest relatives
        (relatedness.py: Lin's similarity and the relative's specificity).

        A class the image model was trained under this very name counts as a main sense, even
        where WordNet ranks its synset low: ImageNet's "plane" is the carpenter's tool, its "cup"
        the drink, its "mouse" the computer's."""
        weights = np.zeros(NUM_CLASSES, np.float32)
        for form in self.wordnet.base_forms(text):
            weights[list(classes_by_name().get(form, ()))] = 1.0
        if not senses:
            return weights, weights, float(weights.max())
        ranked = weights
        placed = 0.0
        # Relatives lead only for a word that names no photo class at all: where some sense (or
        # the class names) names classes or is a part of them, that is what the model sees of the
        # word, and its other senses' relatives stay faint (the lexical check: every such word
        # keeps its own classes first).
        unseen = not weights.any() and not any(
            len(self.wordnet.descendant_classes(row)) or self.wordnet.part_of(row)
            for row, _ in senses
        )
        top = max(weight for _, weight in senses)
        for row, weight in senses:
            weights = np.maximum(weights, (weight / top) * self.relatedness.weights(row))
            if self.config.nearest_relative and unseen:
                related = self.relatedness.ranking_weights(row)
                ranked = np.maximum(ranked, (weight / top) * related)
                placed = max(placed, (weight / top) * self.relatedness.placement(row))
            for whole in self.wordnet.part_of(row):  # "sail": photos of sailing vessels
                classes = self.wordnet.descendant_classes(whole)
                share = self.config.part_weight * weight / top
                weights[classes] = np.maximum(weights[classes], share)
        ranked = np.maximum(ranked, weights)
        placed = max(placed, float(ranked.max()))
        return weights, (weights if np.array_equal(ranked, weights) else ranked), placed

    def related_names(self, concept: Concept, n: int = 3) -> list[str]:
        """What a word the model cannot see is shown through: the WordNet relative whose classes
        lead its weights, when that covers several classes ("pigeon" -> gallinaceous bird), else
        the most weighted classes themselves (which may be word-vector neighbours)."""
        names = class_names()
        weights = concept.class_weights
        ranked = [int(i) for i in np.argsort(-weights, kind="stable")[:n] if weights[i] > 0]
        if concept.synsets and ranked:
            row = max(concept.synsets, key=lambda s: s[1])[0]
            relative = self.relatedness.nearest_relative(row)
            if relative is not None:
                below = self.wordnet.descendant_classes(relative)
                if len(below) > n and ranked[0] in below:
                    return [self.wordnet.synset(relative).name]
        return [names[i] for i in ranked]

    def similar_class_weights(self, vector: np.ndarray | None) -> np.ndarray:
        """Weights in [0, 1] for the ``sim_top`` classes nearest a word-space vector: a softmax
        of their similarities relative to the nearest one.

        With ``csls`` the similarity is CSLS (Conneau et al. 2018, "Word translation without
        parallel data"): cos(q, c) - hub(c) / 2, where hub(c) is the class's mean cosine to its
        nearest words; it stops "hub" classes, close to many words, from matching every query."""
        weights = np.zeros(NUM_CLASSES, np.float32)
        if vector is None:
            return weights
        cfg = self.config
        sims = self.class_vectors @ vector
        if cfg.csls:
            sims = sims - 0.5 * self.class_hubness
        top = np.argsort(-sims, kind="stable")[: cfg.sim_top]
        weights[top] = np.exp((sims[top] - sims[top[0]]) / cfg.sim_temperature)
        return weights

    def units(self, phrase: str) -> list[tuple[str, float]]:
        """Split a phrase into meaning units with weights: multi-word lemmas the word space or
        WordNet knows ("soccer ball", "stop sign") are kept whole; stop-words separate groups;
        inside a group of nouns the last (the head, "*stop sign*" -> sign) weighs double."""
        tokens = TOKEN_RE.findall(phrase.lower().replace("_", " "))
        groups: list[list[str]] = [[]]
        i = 0
        while i < len(tokens):
            if tokens[i] in STOP_WORDS:
                groups.append([])
                i += 1
                continue
            for n in range(min(MAX_LEMMA_WORDS, len(tokens) - i), 0, -1):
                candidate = tokens[i : i + n]
                if any(t in STOP_WORDS for t in candidate):
                    continue
                text = " ".join(candidate)
                if (
                    n == 1
                    or text in classes_by_name()
                    or self.wordnet.lookup(text)
                    or self.space.vector(text) is not None
                ):
                    groups[-1].append(text)
                    i += n
                    break
        units: list[tuple[str, float]] = []
        for group in groups:
            for j, text in enumerate(group):
                units.append((text, 2.0 if j == len(group) - 1 and len(group) > 1 else 1.0))
        return units


@lru_cache(maxsize=4)
def default_model() -> SemanticModel:
    """The semantic model over the shipped word vectors and WordNet (cached)."""
    return SemanticModel()
