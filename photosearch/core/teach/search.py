"""Taught words inside the query language: ``rex + snow``, ``pyramid -drawing``.

A query term whose text is a taught word scores as the taught word, blended with the word's
zero-shot meaning where WordNet knows it (:func:`~photosearch.core.teach.words.prior_weight`);
the other terms score as before, and the parts add up standardised, as image terms do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photosearch.core.teach.fit import FittedWord
from photosearch.core.teach.words import prior_weight
from photosearch.core.text.query import (
    GOOD_MATCH,
    LibraryArrays,
    Query,
    Term,
    compile_query,
    match_confidence,
    score_query,
    text_scores,
)
from photosearch.core.text.semantic import SemanticModel


@dataclass(frozen=True)
class TaughtTerm:
    term: Term
    word: str
    fitted: FittedWord
    examples: int


def split_taught(
    query: Query, words: dict[str, tuple[FittedWord, int]]
) -> tuple[list[TaughtTerm], Query]:
    """The query's taught-word terms, and the query without them."""
    taught, rest = [], []
    for term in query.terms:
        key = " ".join(term.text.lower().split()) if term.text is not None else None
        if key is not None and key in words:
            fitted, examples = words[key]
            taught.append(TaughtTerm(term, key, fitted, examples))
        else:
            rest.append(term)
    return taught, Query(rest)


# The zero-shot prior re-ranks the taught word's best photos only (two-stage retrieval): the
# text score of the whole library would cost as much again as the taught word itself, while a
# prior that counts as one example (weight <= 1/2) cannot lift a photo from below these.
PRIOR_CANDIDATES = 2000
PRIOR_SAMPLE = 1000  # random photos estimating the zero-shot score's mean and spread


def taught_word_scores(
    word: str, fitted: FittedWord, examples: int, library: LibraryArrays, model: SemanticModel
) -> tuple[np.ndarray, np.ndarray]:
    """(n,) score of a taught word (standardised log-odds, plus the zero-shot prior where WordNet
    knows the word), and whether each photo shows it (log-odds >= 0)."""
    assert library.features is not None
    logits = fitted.scores(library.features)
    score = standardise(logits)
    if not model.wordnet.lookup(word):
        return score, logits >= 0
    n = len(logits)
    if n <= PRIOR_CANDIDATES + PRIOR_SAMPLE:
        zero_shot = standardise(text_scores(compile_query(word, model), library))
        return score + prior_weight(examples) * zero_shot, logits >= 0
    candidates = np.argpartition(-logits, PRIOR_CANDIDATES - 1)[:PRIOR_CANDIDATES]
    sample = np.random.default_rng(n).choice(n, PRIOR_SAMPLE, replace=False)
    rows = np.concatenate([candidates, sample])
    subset = LibraryArrays(library.semantic[rows], library.top_ids[rows], library.top_probs[rows])
    zero_shot = text_scores(compile_query(word, model), subset)
    spread = float(zero_shot[PRIOR_CANDIDATES:].std()) or 1.0
    prior = (zero_shot[:PRIOR_CANDIDATES] - zero_shot[PRIOR_CANDIDATES:].mean()) / spread
    weight = prior_weight(examples)
    floor = weight * float(prior.min())  # the rest ranks below every candidate, by log-odds
    out = score + np.float32(floor)
    out[candidates] = score[candidates] + weight * prior.astype(np.float32)
    return out, logits >= 0


def score_with_taught(
    taught: list[TaughtTerm], rest: Query, library: LibraryArrays, model: SemanticModel
) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Scores of a query with taught terms; the "good" mask (or None) and the words the rest of
    the query did not know."""
    parts: list[np.ndarray] = []
    good: np.ndarray | None = None
    unknown: list[str] = []
    for t in taught:
        score, shows = taught_word_scores(t.word, t.fitted, t.examples, library, model)
        parts.append(t.term.weight * score)
        if t.term.weight > 0:
            good = shows if good is None else good & shows
    if rest.terms:
        compiled = compile_query(rest, model)
        unknown = compiled.unknown_words
        parts.append(standardise(score_query(compiled, library, model)))
        confidence = match_confidence(compiled, library) if compiled.has_text else None
        if confidence is not None:
            rest_good = confidence >= GOOD_MATCH
            good = rest_good if good is None else good & rest_good
    return np.sum(parts, axis=0).astype(np.float32), good, unknown


def standardise(x: np.ndarray) -> np.ndarray:
    if len(x) == 0:
        return x.astype(np.float32)
    std = float(x.std())
    centred = x - x.mean()
    return (centred / std if std > 1e-12 else centred).astype(np.float32)


def taught_tags(
    vector: np.ndarray, words: dict[str, tuple[FittedWord, int]]
) -> list[tuple[str, float]]:
    """(word, probability) of the taught words one photo shows (log-odds >= 0), best first."""
    if not words:
        return []
    x = np.asarray(vector, np.float32)[None, :]
    found = []
    for word, (fitted, _) in words.items():
        if fitted.weights.shape[0] != x.shape[1]:
            continue
        logit = float(fitted.scores(x)[0])
        if logit >= 0:
            found.append((word, round(1.0 / (1.0 + float(np.exp(-logit))), 4)))
    return sorted(found, key=lambda t: -t[1])
