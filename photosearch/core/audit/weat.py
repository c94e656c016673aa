"""Word Embedding Association Test (Caliskan, Bryson & Narayanan 2017) and gender projections.

For target word sets X, Y and attribute sets A, B, with cosine similarity on the word space's
unit vectors (the vectors photosearch itself compares):

    s(w, A, B)   = mean_{a in A} cos(w, a) - mean_{b in B} cos(w, b)
    s(X, Y, A, B) = sum_{x in X} s(x, A, B) - sum_{y in Y} s(y, A, B)          (test statistic)
    d            = (mean_{x} s(x, A, B) - mean_{y} s(y, A, B)) / std_{w in X u Y} s(w, A, B)

``d`` is the paper's effect size (a Cohen's d; the standard deviation is the sample one, ddof=1,
over the pooled targets). The one-sided p-value is the share of equal-size re-partitions
(X_i, Y_i) of X u Y with s(X_i, Y_i, A, B) >= the observed statistic: exact (all partitions)
when there are at most ``exact_limit`` of them, else estimated from ``permutations`` random
partitions with a fixed seed as (1 + hits) / (1 + permutations). Only words the space holds are
used; the others are reported as missing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from photosearch.core.text.wordsets import WeatSpec

EXACT_LIMIT = 200_000  # partitions enumerated exactly up to this many
PERMUTATIONS = 20_000  # random partitions otherwise (the paper's convention: >= 10,000)
SEED = 20170414  # fixed: the same vectors always give the same p-value


class VectorSource(Protocol):
    def vector(self, word: str) -> np.ndarray | None: ...


@dataclass
class WeatResult:
    id: str
    title: str
    x_name: str
    y_name: str
    a_name: str
    b_name: str
    effect_size: float | None  # None when a set has no known word
    p_value: float | None
    statistic: float | None
    exact: bool  # p-value from all partitions (True) or random ones
    partitions: int  # number of partitions the p-value is over
    used: dict[str, list[str]] = field(default_factory=dict)  # set name -> words used
    missing: dict[str, list[str]] = field(default_factory=dict)  # set name -> words missing
    word_scores: dict[str, float] = field(default_factory=dict)  # target word -> s(w, A, B)
    role: str = ""
    source: str = ""

    @property
    def valid(self) -> bool:
        return self.effect_size is not None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "role": self.role,
            "source": self.source,
            "targets": [self.x_name, self.y_name],
            "attributes": [self.a_name, self.b_name],
            "effect_size": _round(self.effect_size),
            "p_value": _round(self.p_value, 6),
            "statistic": _round(self.statistic),
            "p_value_exact": self.exact,
            "partitions": self.partitions,
            "words_used": self.used,
            "words_missing": self.missing,
            "word_scores": {w: round(s, 4) for w, s in self.word_scores.items()},
        }


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


def known_words(space: VectorSource, words: Iterable[str]) -> tuple[list[str], list[str]]:
    """(present, missing), each in the given order, duplicates removed."""
    present: list[str] = []
    missing: list[str] = []
    seen: set[str] = set()
    for word in words:
        if word in seen:
            continue
        seen.add(word)
        (present if space.vector(word) is not None else missing).append(word)
    return present, missing


def matrix(space: VectorSource, words: Sequence[str]) -> np.ndarray:
    """(n, dim) unit vectors of words the space holds."""
    rows = []
    for word in words:
        vec = space.vector(word)
        if vec is None:
            raise KeyError(word)
        v = np.asarray(vec, np.float64)
        rows.append(v / max(float(np.linalg.norm(v)), 1e-12))
    return np.stack(rows) if rows else np.zeros((0, 0))


def association(w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """s(w, A, B) for each row of ``w`` (all unit vectors)."""
    return (w @ a.T).mean(axis=1) - (w @ b.T).mean(axis=1)


def effect_size(sx: np.ndarray, sy: np.ndarray) -> float:
    pooled = np.concatenate([sx, sy])
    std = float(pooled.std(ddof=1)) if len(pooled) > 1 else 0.0
    if std <= 1e-12:
        return 0.0
    return float((sx.mean() - sy.mean()) / std)


def permutation_p_value(
    sx: np.ndarray,
    sy: np.ndarray,
    exact_limit: int = EXACT_LIMIT,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
) -> tuple[float, bool, int]:
    """One-sided p of s(X, Y, A, B) over re-partitions of X u Y (sizes kept): (p, exact, count).

    The statistic of a partition is 2 * sum(scores in X_i) - sum(all scores), so it is enough to
    compare the sums over the X side."""
    scores = np.concatenate([sx, sy]).astype(np.float64)
    n, k = len(scores), len(sx)
    observed = float(sx.sum())
    tol = 1e-9 * max(1.0, float(np.abs(scores).sum()))  # float ties count as ">="
    total = math.comb(n, k)
    if total <= exact_limit:
        hits = 0
        combos = itertools.combinations(range(n), k)
        while True:
            chunk = np.fromiter(
                itertools.chain.from_iterable(itertools.islice(combos, 50_000)), dtype=np.intp
            )
            if chunk.size == 0:
                break
            sums = scores[chunk.reshape(-1, k)].sum(axis=1)
            hits += int((sums >= observed - tol).sum())
        return hits / total, True, total
    rng = np.random.default_rng(seed)
    hits = 0
    done = 0
    while done < permutations:
        m = min(5_000, permutations - done)
        idx = np.argsort(rng.random((m, n)), axis=1)[:, :k]
        hits += int((scores[idx].sum(axis=1) >= observed - tol).sum())
        done += m
    return (1 + hits) / (1 + permutations), False, permutations


def weat(
    space: VectorSource,
    x: Sequence[str],
    y: Sequence[str],
    a: Sequence[str],
    b: Sequence[str],
    *,
    names: tuple[str, str, str, str] = ("X", "Y", "A", "B"),
    test_id: str = "weat",
    title: str = "",
    exact_limit: int = EXACT_LIMIT,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
) -> WeatResult:
    """Run one WEAT on the words of X, Y, A, B the space holds."""
    used: dict[str, list[str]] = {}
    missing: dict[str, list[str]] = {}
    sets = []
    for name, words in zip(names, (x, y, a, b), strict=True):
        present, absent = known_words(space, words)
        used[name] = present
        missing[name] = absent
        sets.append(present)
    result = WeatResult(
        test_id,
        title or f"{names[0]} vs {names[1]} × {names[2]} vs {names[3]}",
        *names,
        effect_size=None,
        p_value=None,
        statistic=None,
        exact=False,
        partitions=0,
        used=used,
        missing=missing,
    )
    if any(len(s) == 0 for s in sets) or len(sets[0]) + len(sets[1]) < 3:
        return result
    mx, my, ma, mb = (matrix(space, s) for s in sets)
    sx, sy = association(mx, ma, mb), association(my, ma, mb)
    result.effect_size = effect_size(sx, sy)
    result.statistic = float(sx.sum() - sy.sum())
    result.p_value, result.exact, result.partitions = permutation_p_value(
        sx, sy, exact_limit, permutations, seed
    )
    result.word_scores = {
        **{w: float(s) for w, s in zip(sets[0], sx, strict=True)},
        **{w: float(s) for w, s in zip(sets[1], sy, strict=True)},
    }
    return result


def run_weat(space: VectorSource, spec: WeatSpec, **kwargs: int) -> WeatResult:
    result = weat(
        space,
        spec.x,
        spec.y,
        spec.a,
        spec.b,
        names=(spec.x_name, spec.y_name, spec.a_name, spec.b_name),
        test_id=spec.id,
        title=spec.title,
        **kwargs,
    )
    result.role = spec.role
    result.source = spec.source
    return result


# -- gender direction and per-word projections --------------------------------------------------


def projections(
    space: VectorSource, words: Iterable[str], direction: np.ndarray
) -> tuple[dict[str, float], list[str]]:
    """cos(word, direction) for the words the space holds (positive: the male side)."""
    out: dict[str, float] = {}
    missing: list[str] = []
    present, absent = known_words(space, words)
    missing += absent
    if present:
        m = matrix(space, present)
        for word, value in zip(present, m @ direction, strict=True):
            out[word] = float(value)
    return out, missing


def direct_bias(values: Iterable[float], c: float = 1.0) -> float:
    """Bolukbasi's DirectBias_c: mean |cos(w, g)|^c over gender-neutral words."""
    arr = np.abs(np.asarray(list(values), np.float64))
    return float((arr**c).mean()) if arr.size else 0.0


def format_p(p: float | None) -> str:
    """A p-value for a report: four decimals, or scientific notation when tiny."""
    if p is None:
        return "n/a"
    return f"{p:.4f}" if p >= 0.0001 else f"{p:.1e}"


def format_d(d: float | None) -> str:
    """An effect size for a report, signed."""
    return "n/a" if d is None else f"{d:+.2f}"
