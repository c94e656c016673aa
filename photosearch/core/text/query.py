"""The query language, and scoring a query against a whole library held in memory.

Syntax (as in rclip): terms are separated by ``+``; a term starting with ``-`` pushes its photos
away; ``2:sunset`` or ``0.5:snow`` scales a term; a term is a word or a phrase (``beach at
sunset``). Images are passed by the caller as extra terms (``search --image PATH "snow"``).

    boat -sail            -> +boat, -sail
    dog + 2:snow          -> +dog, +2*snow
    beach at sunset       -> one phrase term
    t-shirt               -> one word (a hyphen inside a word is not a minus)

Scoring is vectorised numpy over all photos (no Python loop over photos): for text, the terms'
class weights and vectors are summed into one (1000,) weight vector and one word-space vector, so
a text query costs one gather over the stored top-K classes and one matrix-vector product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from photosearch.core.errors import QueryError
from photosearch.core.text.semantic import Concept, SemanticModel, UnknownQueryError, default_model
from photosearch.core.text.wordspace import normalize
from photosearch.core.vision.imagenet import NUM_CLASSES

_WEIGHT_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*:\s*")
# A minus that starts a term: at the start or after whitespace, followed by a non-space.
_MINUS_RE = re.compile(r"(?:^|(?<=\s))-(?=\S)")


class QuerySyntaxError(QueryError, ValueError):
    """The query text cannot be parsed. Message is user-facing."""


@dataclass
class ImageTerm:
    """A photo used as a query term: its visual feature, and its semantic vector if known."""

    features: np.ndarray  # (D,) L2-normalised visual feature
    semantic: np.ndarray | None = None  # (dim,) semantic vector in the library's word space
    label: str = "image"


@dataclass
class Term:
    weight: float  # signed: negative pushes away
    text: str | None = None
    image: ImageTerm | None = None

    def __str__(self) -> str:
        sign = "-" if self.weight < 0 else "+"
        body = (
            self.text if self.text is not None else f"<{self.image.label if self.image else '?'}>"
        )
        magnitude = abs(self.weight)
        return f"{sign}{'' if magnitude == 1 else f'{magnitude:g}:'}{body}"


@dataclass
class Query:
    terms: list[Term] = field(default_factory=list)

    @property
    def text_terms(self) -> list[Term]:
        return [t for t in self.terms if t.text is not None]

    @property
    def image_terms(self) -> list[Term]:
        return [t for t in self.terms if t.image is not None]

    def __str__(self) -> str:
        return " ".join(str(t) for t in self.terms)


def parse_query(
    text: str, images: list[ImageTerm] | None = None, image_weight: float = 1.0
) -> Query:
    """Parse query text into terms; ``images`` become positive terms of ``image_weight``."""
    terms: list[Term] = []
    for chunk in text.split("+"):
        if re.search(r"(?:^|\s)-\s*$", chunk):
            raise QuerySyntaxError("a '-' must be followed by the words to push away")
        pieces = _MINUS_RE.split(chunk)
        for index, piece in enumerate(pieces):
            negative = index > 0
            piece = piece.strip()
            if not piece:
                if negative:
                    raise QuerySyntaxError("a '-' must be followed by the words to push away")
                continue
            weight = 1.0
            match = _WEIGHT_RE.match(piece)
            if match:
                weight = float(match.group(1))
                piece = piece[match.end() :].strip()
                if not piece:
                    raise QuerySyntaxError(
                        f"the weight {match.group(1)}: must be followed by words"
                    )
            if ":" in piece and _looks_like_bad_weight(piece):
                raise QuerySyntaxError(f"cannot read the weight in {piece!r}; write e.g. 2:sunset")
            terms.append(Term(-weight if negative else weight, text=piece))
    for image in images or []:
        terms.append(Term(image_weight, image=image))
    if not terms:
        raise QuerySyntaxError("the query is empty")
    return terms_query(terms)


def terms_query(terms: list[Term]) -> Query:
    return Query(list(terms))


def _looks_like_bad_weight(piece: str) -> bool:
    head = piece.split(":", 1)[0].strip()
    return bool(head) and not head.isalpha() and " " not in head


@dataclass
class LibraryArrays:
    """What the scorer needs of a library, all rows aligned (n photos).

    Keep one instance per loaded library and reuse it across queries: the first text query
    builds (about 0.1 s for 100k photos) and caches an inverted index of the top-K classes, which
    makes later queries that touch few classes cost well under a millisecond."""

    semantic: np.ndarray  # (n, dim) float32 L2-normalised semantic vectors
    top_ids: np.ndarray  # (n, K) int class ids, best first
    top_probs: np.ndarray  # (n, K) float32 probabilities
    features: np.ndarray | None = None  # (n, D) float32 L2-normalised visual features
    _postings: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(
        default=None, init=False, repr=False
    )

    def __len__(self) -> int:
        return int(self.top_ids.shape[0])

    def postings(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(photo, prob, starts): the (photo, probability) pairs sorted by class; those of class c
        are at ``starts[c]:starts[c + 1]``."""
        if self._postings is None:
            n, k = self.top_ids.shape
            flat = self.top_ids.reshape(-1).astype(np.int16 if NUM_CLASSES < 32768 else np.int32)
            order = np.argsort(flat, kind="stable")  # a radix sort for 16-bit ids
            photo = (order // k).astype(np.int32)
            probs = self.top_probs.reshape(-1)[order].astype(np.float32)
            starts = np.searchsorted(flat[order], np.arange(NUM_CLASSES + 1))
            self._postings = (photo, probs, starts)
        return self._postings


@dataclass
class CompiledQuery:
    """A parsed query resolved against the word space: ready to score any library."""

    query: Query
    class_weights: np.ndarray  # (1000,) signed combination of the text terms' class weights
    vector: np.ndarray  # (dim,) signed combination of the text terms' word-space vectors
    concepts: list[tuple[Term, list[tuple[Concept, float]]]]
    unknown_words: list[str]
    cosine_weight: float
    # (1000,) what the positive text terms name through WordNet alone (see Concept.match_weights);
    # the very class_weights array when they are equal (most words), so its mass is computed once
    match_weights: np.ndarray | None = None
    _masses: dict[tuple[int, int], np.ndarray] = field(default_factory=dict, repr=False)

    def mass(self, weights: np.ndarray, library: LibraryArrays) -> np.ndarray:
        """:func:`class_mass`, remembered for the last library (the score and the confidence of
        a query usually need the same one)."""
        key = (id(weights), id(library))
        found = self._masses.get(key)
        if found is None:
            self._masses.clear()
            found = self._masses[key] = class_mass(weights, library)
        return found

    @property
    def unseen(self) -> list[Concept]:
        """Positive words that name no photo class ("stapler"): shown only through relatives."""
        return [
            concept
            for term, known in self.concepts
            if term.weight > 0
            for concept, _ in known
            if concept.closeness < CLOSE
        ]

    @property
    def has_text(self) -> bool:
        return bool(self.class_weights.any() or self.vector.any())


def compile_query(query: Query | str, model: SemanticModel | None = None) -> CompiledQuery:
    """Resolve every text term's words; raises :class:`UnknownQueryError` if a text term has no
    word the word space or WordNet knows (unknown words inside a term are skipped and listed)."""
    model = model or default_model()
    if isinstance(query, str):
        query = parse_query(query)
    weights = np.zeros(NUM_CLASSES, np.float32)
    vector = np.zeros(model.dim, np.float32)
    resolved = []
    unknown: list[str] = []
    for term in query.text_terms:
        assert term.text is not None
        units = model.units(term.text)
        concepts = [(model.concept(text), w) for text, w in units]
        known = [(c, w) for c, w in concepts if c.known]
        unknown += [c.text for c, _ in concepts if not c.known]
        if not known:
            words = ", ".join(repr(c.text) for c, _ in concepts) or repr(term.text)
            raise UnknownQueryError(
                f"none of the words {words} is known to the word vectors or to WordNet; "
                "try another word (a common English noun works best)"
            )
        total = sum(w for _, w in known)
        term_vector = np.zeros(model.dim, np.float32)
        for concept, w in known:
            weights += (term.weight * w / total) * _class_weights(concept, term.weight)
            if concept.vector is not None:
                term_vector += (w / total) * concept.vector
        if term_vector.any():
            vector += term.weight * normalize(term_vector)
        resolved.append((term, known))
    match = _match_weights(resolved)
    return CompiledQuery(
        query,
        weights,
        vector,
        resolved,
        unknown,
        model.config.cosine_weight,
        weights if np.array_equal(match, weights) else match,
    )


def _match_weights(resolved: list[tuple[Term, list[tuple[Concept, float]]]]) -> np.ndarray:
    """What the positive words name, weighted as in the query. A word no photo class is close to
    can neither confirm nor deny a match ("sailboat on the water": the model sees sailboats, not
    water), so the confidence rests on the words the model can see, or on all when it sees none."""
    parts = [
        (term.weight * w / sum(v for _, v in known), concept)
        for term, known in resolved
        if term.weight > 0
        for concept, w in known
        if concept.match_weights is not None
    ]
    seen = [(w, c) for w, c in parts if c.closeness >= CLOSE] or parts
    total = sum(w for w, _ in seen)
    match = np.zeros(NUM_CLASSES, np.float32)
    for w, concept in seen:
        assert concept.match_weights is not None
        match += (w / total) * concept.match_weights
    return match


def _class_weights(concept: Concept, term_weight: float) -> np.ndarray:
    """A negative term excludes what it names, at full strength: "-sail" names sailing vessels
    only as wholes with a sail (part weight 0.5), yet must push them away as hard as "-dog"
    pushes dogs. So a negative term's class weights are scaled to a maximum of 1."""
    weights = concept.class_weights
    top = float(weights.max())
    return weights / top if term_weight < 0 and 0 < top < 1 else weights


# A word is *close* to the photo classes when it names some (relatedness 1) or is a part of them
# (0.5); a relative's classes are related by at most DECAY x IC < 0.5 (relatedness.py).
CLOSE = 0.5
# A photo is a *good* match when more of its probability mass lies on the classes the query names
# than elsewhere: the classifier's own odds that the photo shows what the words say.
GOOD_MATCH = 0.5

SPARSE_CLASSES = 300  # below this many weighted classes, score through the inverted index


def class_mass(weights: np.ndarray, library: LibraryArrays) -> np.ndarray:
    """(n,) sum over each photo's top-K classes of probability x class weight."""
    weights = np.asarray(weights, dtype=np.float32)
    nonzero = np.flatnonzero(weights)
    n = len(library)
    if len(nonzero) == 0 or n == 0:
        return np.zeros(n, np.float32)
    if len(nonzero) < SPARSE_CLASSES and n > 2000:
        photo, probs, starts = library.postings()
        spans = [slice(int(starts[c]), int(starts[c + 1])) for c in nonzero]
        photos = np.concatenate([photo[s] for s in spans])
        values = np.concatenate(
            [probs[s] * weights[c] for s, c in zip(spans, nonzero, strict=True)]
        )
        return np.bincount(photos, weights=values, minlength=n).astype(np.float32)
    gathered = np.take(weights, library.top_ids.astype(np.intp, copy=False))
    return np.einsum("nk,nk->n", gathered, library.top_probs, dtype=np.float32)


def match_confidence(compiled: CompiledQuery, library: LibraryArrays) -> np.ndarray | None:
    """(n,) the probability mass of each photo's classes under what the query's words name, in
    [0, 1]; None for a query without positive words."""
    if compiled.match_weights is None or not compiled.match_weights.any():
        return None
    return compiled.mass(compiled.match_weights, library)


def text_scores(compiled: CompiledQuery, library: LibraryArrays) -> np.ndarray:
    """(n,) score of the text terms: WordNet/similarity class mass + cosine to the semantic vectors."""
    score = compiled.mass(compiled.class_weights, library).copy()
    if compiled.vector.any():
        score += compiled.cosine_weight * (library.semantic @ compiled.vector)
    return score


def score_query(
    query: Query | str | CompiledQuery,
    library: LibraryArrays,
    model: SemanticModel | None = None,
) -> np.ndarray:
    """(n,) float32 scores, higher is better.

    A text-only query scores with :func:`text_scores`. With image terms, the text part and each
    image's similarity (visual cosine, plus semantic cosine if the image term has a semantic
    vector) are standardised over the library before their weighted sum, so that neither scale
    dominates."""
    compiled = query if isinstance(query, CompiledQuery) else compile_query(query, model)
    images = compiled.query.image_terms
    if not images:
        return text_scores(compiled, library).astype(np.float32, copy=False)
    parts: list[np.ndarray] = []
    if compiled.has_text:
        parts.append(_standardise(text_scores(compiled, library)))
    for term in images:
        assert term.image is not None
        if library.features is None:
            raise ValueError("an image term needs the library's visual features")
        sim = library.features @ np.asarray(term.image.features, np.float32)
        if term.image.semantic is not None:
            sim = sim + 0.5 * (library.semantic @ np.asarray(term.image.semantic, np.float32))
        parts.append(term.weight * _standardise(sim))
    return np.sum(parts, axis=0).astype(np.float32)


def _standardise(x: np.ndarray) -> np.ndarray:
    if len(x) == 0:
        return x
    std = float(x.std())
    return (x - x.mean()) / std if std > 1e-12 else x - x.mean()
