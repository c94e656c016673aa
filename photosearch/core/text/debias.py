"""Hard debiasing (Bolukbasi et al. 2016), optional and off by default.

1. *Gender direction* g: first principal component of the definitional pairs (she/he, woman/man…).
2. *Neutralise*: every word that is not gender-specific by definition loses its component along g
   (then is renormalised).
3. *Equalise*: each equality pair (father/mother, king/queen…) is moved to be symmetric about the
   neutral subspace, so a neutral word is equally far from both words of the pair.

It works on the unit vectors photosearch compares (:attr:`WordSpace.vectors`) and returns a
:class:`DebiasedWordSpace` with the same interface, usable for tags and queries:
``SemanticModel(space=debias_space(WordSpace.default()))``.

Known limit (Gonen & Goldberg 2019, "Lipstick on a Pig"): this removes the *projection* on g, not
the gender information spread over the other dimensions; words that were stereotyped still
cluster together. :func:`cluster_residual` measures that.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from photosearch.core.text.wordsets import WordSets, load_word_sets
from photosearch.core.text.wordspace import WordSpace, normalize


@dataclass
class DebiasInfo:
    direction: np.ndarray  # (dim,) unit gender direction (male side positive)
    explained: float  # variance share of the first component over the definitional pairs
    definitional_used: list[tuple[str, str]]
    equalized: list[tuple[str, str]]
    kept: int  # vocabulary words left as they were (gender-specific)
    neutralised: int

    def as_dict(self) -> dict:
        return {
            "method": "hard debiasing (Bolukbasi et al. 2016): neutralise + equalise",
            "direction_variance_explained": round(self.explained, 4),
            "definitional_pairs_used": [list(p) for p in self.definitional_used],
            "equalized_pairs": [list(p) for p in self.equalized],
            "gender_specific_words_kept": self.kept,
            "words_neutralised": self.neutralised,
        }


class DebiasedWordSpace(WordSpace):
    """A :class:`WordSpace` whose vectors were hard-debiased; same interface, its own space id
    (so stored semantic vectors are recomputed when the app switches to it)."""

    def __init__(
        self,
        base: WordSpace,
        vectors: np.ndarray,
        info: DebiasInfo,
        gender_specific: frozenset[str],
    ) -> None:
        digest = hashlib.sha256(base.space_id.encode())
        digest.update(np.ascontiguousarray(vectors, np.float32).tobytes()[: 1 << 20])
        digest.update(np.ascontiguousarray(info.direction, np.float32).tobytes())
        super().__init__(base.kv, f"{base.name}-hard-debiased", digest.hexdigest())
        self.vectors = np.ascontiguousarray(vectors, np.float32)
        self.base = base
        self.info = info
        self.gender_specific = gender_specific

    def vector(self, word: str) -> np.ndarray | None:
        vec = super().vector(word)
        if vec is None or word.strip() in self or word.strip().lower() in self.gender_specific:
            return vec
        # A word built from subwords (fastText) is not a vocabulary row: neutralise it here.
        g = self.info.direction.astype(np.float32)
        return normalize(vec - float(vec @ g) * g)


def _neutralise(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    return x - np.outer(x @ g, g)


def gender_direction(
    space: WordSpace, pairs: Sequence[tuple[str, str]]
) -> tuple[np.ndarray, list[tuple[str, str]], float]:
    """Bolukbasi et al. (2016): the first principal component of the definitional pairs, each
    pair centred on its own mean. Oriented so that the *male* word of the pairs projects
    positive. Returns (unit direction, pairs used, share of variance the component explains)."""
    rows, used = [], []
    for female, male in pairs:
        vf, vm = space.vector(female), space.vector(male)
        if vf is None or vm is None:
            continue
        vf = np.asarray(vf, np.float64) / max(float(np.linalg.norm(vf)), 1e-12)
        vm = np.asarray(vm, np.float64) / max(float(np.linalg.norm(vm)), 1e-12)
        centre = (vf + vm) / 2
        rows += [vm - centre, vf - centre]
        used.append((female, male))
    if len(used) < 2:
        raise ValueError("fewer than two definitional gender pairs are in the word vectors")
    stacked = np.stack(rows)
    _, singular, vt = np.linalg.svd(stacked, full_matrices=False)
    direction = vt[0]
    male_side = np.stack(rows[0::2]) @ direction
    if float(male_side.mean()) < 0:
        direction = -direction
    explained = float(singular[0] ** 2 / max(float((singular**2).sum()), 1e-12))
    return direction / np.linalg.norm(direction), used, explained


def debias_space(
    space: WordSpace,
    word_sets: WordSets | None = None,
    extra_gender_specific: Iterable[str] = (),
) -> DebiasedWordSpace:
    """Hard-debias ``space`` with the shipped lists (or ``word_sets``)."""
    sets = word_sets or load_word_sets()
    specific = set(sets.gendered_words()) | {w.lower() for w in extra_gender_specific}
    g, used, explained = gender_direction(space, sets.definitional_pairs)
    keys = space.kv.index_to_key
    keep = np.fromiter((key.lower() in specific for key in keys), dtype=bool, count=len(keys))
    vectors = np.asarray(space.vectors, np.float64).copy()
    vectors[~keep] = _neutralise(vectors[~keep], g)
    vectors = normalize(vectors).astype(np.float64)
    equalized = _equalise(space, vectors, sets.equalize_pairs, g)
    info = DebiasInfo(
        direction=g.astype(np.float32),
        explained=explained,
        definitional_used=used,
        equalized=equalized,
        kept=int(keep.sum()),
        neutralised=int((~keep).sum()),
    )
    return DebiasedWordSpace(space, normalize(vectors), info, frozenset(specific))


def _equalise(
    space: WordSpace, vectors: np.ndarray, pairs: Sequence[tuple[str, str]], g: np.ndarray
) -> list[tuple[str, str]]:
    done = []
    for a, b in pairs:
        ia, ib = _row(space, a), _row(space, b)
        if ia is None or ib is None or ia == ib:
            continue
        va, vb = vectors[ia], vectors[ib]
        mu = (va + vb) / 2
        nu = mu - (mu @ g) * g
        z = float(np.sqrt(max(0.0, 1.0 - float(nu @ nu))))
        if float((va - vb) @ g) < 0:
            z = -z
        vectors[ia] = z * g + nu
        vectors[ib] = -z * g + nu
        done.append((a, b))
    return done


def _row(space: WordSpace, word: str) -> int | None:
    """The vocabulary row of a word (exact, then lowercase); ``None`` if not a row."""
    index = space.kv.key_to_index
    for candidate in (word, word.lower(), word.replace("_", "-"), word.replace("_", "")):
        row = index.get(candidate)
        if row is not None:
            return int(row)
    return None


# -- residual bias (Gonen & Goldberg 2019) -----------------------------------------------------


def cluster_residual(
    before: WordSpace,
    after: WordSpace,
    direction: np.ndarray,
    exclude: Iterable[str],
    n: int = 250,
    vocabulary_limit: int = 20_000,
) -> dict:
    """Take the ``n`` most male- and ``n`` most female-leaning gender-neutral words (by their
    projection on g in ``before``, among the first ``vocabulary_limit`` words), cluster each
    space's vectors of these words into two groups (k-means, k=2) and report how well the clusters
    recover the original lean (0.5 = not at all, 1.0 = perfectly)."""
    excluded = {w.lower() for w in exclude}
    keys = before.kv.index_to_key[:vocabulary_limit]
    rows = [i for i, k in enumerate(keys) if k.isalpha() and k.lower() not in excluded]
    if len(rows) < 4 * n:
        n = max(2, len(rows) // 4)
    proj = before.vectors[rows] @ direction
    order = np.argsort(proj)
    female_rows = [rows[i] for i in order[:n]]
    male_rows = [rows[i] for i in order[-n:]]
    labels = np.array([0] * n + [1] * n)
    out: dict[str, Any] = {"words_per_side": n}
    for name, space in (("before", before), ("after", after)):
        x = np.asarray(space.vectors[female_rows + male_rows], np.float64)
        assign = _kmeans2(x)
        accuracy = float(max((assign == labels).mean(), (assign != labels).mean()))
        out[f"accuracy_{name}"] = round(accuracy, 4)
    out["examples_female_side"] = [keys[r] for r in female_rows[:10]]
    out["examples_male_side"] = [keys[r] for r in male_rows[::-1][:10]]
    return out


def _kmeans2(x: np.ndarray, iterations: int = 50) -> np.ndarray:
    """Deterministic 2-means: start from the two points farthest apart along the first PC."""
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    pc = centred @ vt[0]
    centres = np.stack([x[int(np.argmin(pc))], x[int(np.argmax(pc))]])
    assign = np.zeros(len(x), dtype=int)
    for _ in range(iterations):
        dist = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        new = np.argmin(dist, axis=1)
        if np.array_equal(new, assign) and _ > 0:
            break
        assign = new
        for c in (0, 1):
            if (assign == c).any():
                centres[c] = x[assign == c].mean(axis=0)
    return assign
