"""Feedback on any result list: refine a query from ✓/✗ marks, and "more like these".

Relevance feedback in the manner of Rocchio (1971), with the modern twist of refitting a linear
classifier on the marked photos (as in Tong & Chang, 2001, for image retrieval): the marked ✓
photos are positives, the ✗ photos explicit negatives, a random sample of the library background
(the same fit as a taught word, :func:`~photosearch.core.teach.fit.fit_word`). The original
query stays in as a prior that counts as one example (:func:`~photosearch.core.teach.words.prior_weight`).
With only ✗ marks there is nothing to fit: the query is pushed away from their mean (Rocchio's
negative term, at his customary third of the positive weight). docs/teach.md has the measurement.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from photosearch.core.search.searcher import Filters
from photosearch.core.search.text_search import Outcome
from photosearch.core.teach.fit import background_rows, fit_word
from photosearch.core.teach.search import standardise
from photosearch.core.teach.words import TaughtWord, TeachError, prior_weight

NEGATIVE_WEIGHT = 1 / 3  # Rocchio's gamma relative to beta (0.25 / 0.75)


def refine_scores(
    base: np.ndarray,
    features: np.ndarray,
    right: np.ndarray,
    wrong: np.ndarray,
    seed: int = 0,
) -> np.ndarray:
    """(n,) scores of a query refined by marks: ``base`` its scores over the library, ``right``
    and ``wrong`` the rows marked ✓ and ✗."""
    right = np.asarray(right, np.int64)
    wrong = np.asarray(wrong, np.int64)
    prior = standardise(np.asarray(base, np.float32))
    if len(right) == 0:
        if len(wrong) == 0:
            return prior
        away = features @ features[wrong].mean(axis=0)
        return prior - NEGATIVE_WEIGHT * standardise(away)
    bg = background_rows(len(features), np.concatenate([right, wrong]), seed)
    fitted = fit_word(features[right], features[wrong], features[bg])
    return standardise(fitted.scores(features)) + prior_weight(len(right)) * prior


def like_scores(features: np.ndarray, rows: np.ndarray, seed: int = 0) -> np.ndarray:
    """(n,) "more like these": the fit of the selected rows against a library sample."""
    rows = np.asarray(rows, np.int64)
    if len(rows) == 0:
        raise TeachError("select at least one photo")
    bg = background_rows(len(features), rows, seed)
    return fit_word(features[rows], None, features[bg]).scores(features)


class Feedback:
    """Feedback over one :class:`~photosearch.core.search.text_search.TextSearcher`: results as its
    ``search`` gives them (an ``Outcome``), marks as ``{photo_id: True (✓) or False (✗)}``."""

    def __init__(self, texts: Any) -> None:
        self.texts = texts

    def refine(
        self, query: str, marks: Mapping[int, bool], k: int = 20, filters: Filters | None = None
    ) -> Any:
        """The query's results refined by the marks; ✗ photos leave the list, ✓ ones stay."""
        snap, scores, good = self.texts.score_all(query)
        right = _rows(snap.ids, [p for p, ok in marks.items() if ok])
        wrong = _rows(snap.ids, [p for p, ok in marks.items() if not ok])
        refined = refine_scores(scores, snap.visual, right, wrong, _seed(query))
        mask = _mask(snap, filters, wrong)
        return Outcome(self.texts.searcher.results(snap, refined, k, mask), [])

    def more_like_these(
        self, photo_ids: Sequence[int], k: int = 20, filters: Filters | None = None
    ) -> Any:
        """Photos like the selected ones (which are left out of the results)."""
        snap = self.texts.searcher.index.snapshot()
        rows = _rows(snap.ids, photo_ids)
        if len(rows) == 0:
            raise TeachError("none of the selected photos is indexed")
        scores = like_scores(snap.visual, rows)
        return Outcome(self.texts.searcher.results(snap, scores, k, _mask(snap, filters, rows)), [])

    def save_as_word(self, word: str, marks: Mapping[int, bool]) -> TaughtWord:
        """Store a refined result as a taught word: its ✓ photos as examples, ✗ as "not this"."""
        right = [p for p, ok in marks.items() if ok]
        wrong = [p for p, ok in marks.items() if not ok]
        if not right:
            raise TeachError("mark at least one photo ✓ to save the result as a word")
        taught: TaughtWord = self.texts.words.teach(word, right, wrong)
        return taught


def _rows(ids: np.ndarray, photo_ids: Sequence[int]) -> np.ndarray:
    return np.flatnonzero(np.isin(ids, np.asarray(list(photo_ids), np.int64)))


def _mask(snap: Any, filters: Filters | None, hide: np.ndarray) -> np.ndarray | None:
    mask = filters.mask(snap) if filters else None
    if len(hide) == 0:
        return mask
    mask = np.ones(len(snap), bool) if mask is None else mask.copy()
    mask[hide] = False
    return mask


def _seed(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))
