"""Fitting a taught word: a linear score over the stored visual vectors, from a few examples.

Every method returns a :class:`FittedWord` whose score ``features @ weights + bias`` is a
log-odds that a photo shows the word (calibrated on the examples against a sample of the library),
so "does this photo show it?" is ``score >= 0`` and scores of different words are comparable.

* ``prototype``: the mean of the positive photos' vectors (Snell et al., 2017, "Prototypical
  networks"), its cosine calibrated to log-odds by a one-feature logistic regression (Platt, 1999).
* ``logistic``: L2-regularised logistic regression of the positives against explicit negatives and
  a random sample of the library taken as background (the library is overwhelmingly *not* the
  word: Elkan & Noto, 2008, learning from positive and unlabelled data), solved by Newton steps
  (IRLS) in the vectors' own 256 dimensions, started at the prototype.

docs/teach.md has the measurements that chose the default.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photosearch.core.errors import TaughtWordProblem

METHODS = ("prototype", "logistic")
DEFAULT_METHOD = "logistic"
BACKGROUND_SAMPLE = 1000  # library photos taken as background: a fixed cost at any library size
# L2 penalty on the weights, relative to the total sample weight (positives and negatives weigh
# half each): features are unit vectors, so this bounds how far one example can move the fit.
RIDGE = 0.01
NEWTON_STEPS = 8


class FitError(TaughtWordProblem, ValueError):
    """The examples cannot make a word (message is user-facing)."""


@dataclass(frozen=True)
class FittedWord:
    method: str
    weights: np.ndarray  # (D,) float32
    bias: float

    def scores(self, features: np.ndarray) -> np.ndarray:
        """(n,) log-odds that each photo shows the word."""
        if features.shape[0] == 0:
            return np.zeros(0, np.float32)
        return (features @ self.weights + np.float32(self.bias)).astype(np.float32, copy=False)


def background_rows(
    n: int, exclude: np.ndarray, seed: int, size: int = BACKGROUND_SAMPLE
) -> np.ndarray:
    """Up to ``size`` random library rows outside ``exclude`` (reproducible for a seed)."""
    keep = np.ones(n, bool)
    keep[np.asarray(exclude, np.int64)] = False
    pool = np.flatnonzero(keep)
    if len(pool) <= size:
        return pool
    return np.sort(np.random.default_rng(seed).choice(pool, size, replace=False))


def fit_word(
    positives: np.ndarray,
    negatives: np.ndarray | None = None,
    background: np.ndarray | None = None,
    method: str = DEFAULT_METHOD,
    ridge: float = RIDGE,
) -> FittedWord:
    """Fit from (k, D) positive vectors, optional (m, D) "not this" vectors and (b, D) background
    (a random sample of the library); raises :class:`FitError` without positives."""
    pos = _rows(positives)
    if len(pos) == 0:
        raise FitError("a word needs at least one example photo")
    dim = pos.shape[1]
    neg = _rows(negatives, dim)
    bg = _rows(background, dim)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    prototype = _unit(pos.mean(axis=0))
    x = np.concatenate([pos, neg, bg])
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg) + len(bg))])
    sample_weight = _balanced(len(pos), len(neg), len(bg))
    if len(x) == len(pos):  # nothing to contrast with: the prototype, a plain cosine
        return FittedWord("prototype", prototype.astype(np.float32), 0.0)
    if method == "prototype":
        scale, bias = _platt(x @ prototype, y, sample_weight)
        return FittedWord(method, (scale * prototype).astype(np.float32), bias)
    weights, bias = _logistic(x, y, sample_weight, prototype, ridge)
    return FittedWord(method, weights.astype(np.float32), bias)


def _rows(a: np.ndarray | None, dim: int | None = None) -> np.ndarray:
    if a is None or len(a) == 0:
        return np.zeros((0, dim or 0), np.float64)
    return np.atleast_2d(np.asarray(a, np.float64))


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 1e-12 else v


def _balanced(k: int, explicit: int, background: int) -> np.ndarray:
    """Positives weigh as much as all negatives together; an explicit "not this" photo weighs as
    much as a positive (the user said so), the background shares what is left."""
    pos = np.full(k, 1.0)
    neg = np.full(explicit, 1.0)
    rest = max(float(k) - explicit, float(k) / 2) if background else 0.0
    bg = np.full(background, rest / background) if background else np.zeros(0)
    return np.concatenate([pos, neg, bg])


def _newton(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, theta: np.ndarray, ridge: np.ndarray
) -> np.ndarray:
    """Newton steps (IRLS) on the weighted, L2-penalised logistic loss; ``x`` carries a bias
    column, which ``ridge`` leaves unpenalised."""
    for _ in range(NEWTON_STEPS):
        z = x @ theta
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        grad = x.T @ (w * (p - y)) + ridge * theta
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + np.diag(ridge)
        step = np.linalg.solve(hess, grad)
        theta = theta - step
        if float(np.abs(step).max()) < 1e-6:
            break
    return theta


def _platt(s: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """A one-feature logistic regression: scale and bias turning a cosine into log-odds."""
    x = np.stack([s, np.ones_like(s)], axis=1)
    theta = _newton(x, y, w, np.array([1.0, 0.0]), np.array([RIDGE * w.sum(), 0.0]))
    return float(theta[0]), float(theta[1])


def _logistic(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, prototype: np.ndarray, ridge_scale: float
) -> tuple[np.ndarray, float]:
    dim = x.shape[1]
    xb = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    scale, bias = _platt(x @ prototype, y, w)
    start = np.concatenate([scale * prototype, [bias]])
    ridge = np.concatenate([np.full(dim, ridge_scale * w.sum()), [0.0]])
    theta = _newton(xb, y, w, start, ridge)
    return theta[:dim], float(theta[dim])
