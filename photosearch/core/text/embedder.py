"""Semantic embedders: visual outputs of a photo -> its vector in the word space.

The store keeps, per photo, the visual feature and the top K=32 ImageNet classes with their
probabilities, and stores the semantic vector computed here. When the word space or the
projection changes (``space_id`` differs from the stored one), it recomputes the semantic vectors
from the stored top-K and features; the visual outputs never need recomputing.
"""

from __future__ import annotations

import hashlib
import os
from typing import Protocol, runtime_checkable

import numpy as np

from photosearch.core.library.vectors import top_classes
from photosearch.core.text.debias import debias_space
from photosearch.core.text.projection import Projection
from photosearch.core.text.semantic import SemanticModel, default_model
from photosearch.core.text.wordspace import WordSpace, normalize

TOP_K = 32  # classes the store keeps per photo
CONSE_VERSION = "conse1"  # bump when the ConSE computation changes, to force recomputation


@runtime_checkable
class SemanticEmbedder(Protocol):
    space_id: str  # identifies the vectors this produces; a change means "recompute"
    dim: int

    def embed(self, features: np.ndarray, top_ids: np.ndarray, top_probs: np.ndarray) -> np.ndarray:
        """(n, D) float32 features, (n, K) int ids, (n, K) float32 probs -> (n, dim) float32,
        rows L2-normalised."""
        ...


class ConSEEmbedder:
    """Training-free: the probability-weighted sum of the photo's top-T class vectors."""

    def __init__(self, model: SemanticModel | None = None) -> None:
        self.model = model or default_model()
        self.dim = self.model.dim
        self.space_id = f"{CONSE_VERSION}-{_config_digest(self.model)}-{self.model.space_id}"

    def embed(self, features: np.ndarray, top_ids: np.ndarray, top_probs: np.ndarray) -> np.ndarray:
        top_ids = np.asarray(top_ids)
        if top_ids.shape[0] == 0:
            return np.zeros((0, self.dim), np.float32)
        return self.model.conse(top_ids.astype(np.intp), np.asarray(top_probs, np.float32))


class ProjectionEmbedder:
    """A trained linear projection of the visual features (DeViSE-style), optionally mixed with
    ConSE: ``normalize(mix * projection + (1 - mix) * conse)``."""

    def __init__(
        self, projection: Projection, model: SemanticModel | None = None, mix: float = 1.0
    ) -> None:
        if not isinstance(projection, Projection):
            raise TypeError("projection must be a photosearch.core.text.projection.Projection")
        self.model = model or default_model()
        if projection.space_id != self.model.space_id:
            raise ValueError(
                f"the projection was trained for the word vectors {projection.space_id}, "
                f"not {self.model.space_id}; retrain it (photosearch train) for these vectors"
            )
        self.projection = projection
        self.mix = float(mix)
        self.conse = ConSEEmbedder(self.model)
        self.dim = self.model.dim
        self.space_id = f"proj-{projection.digest}-m{self.mix:g}-{self.conse.space_id}"

    def embed(self, features: np.ndarray, top_ids: np.ndarray, top_probs: np.ndarray) -> np.ndarray:
        projected = self.projection.project(np.asarray(features, np.float32))
        if self.mix >= 1.0:
            return projected
        conse = self.conse.embed(features, top_ids, top_probs)
        return normalize(self.mix * projected + (1.0 - self.mix) * conse)


def load_model(
    word_vectors: str | os.PathLike[str] | None = None, debias: bool = False
) -> SemanticModel:
    """The semantic model over the shipped vectors (cached), or over a user's word-vector file.

    ``debias``: hard-debias the word vectors first (Bolukbasi et al. 2016; see docs/audit.md):
    the gender direction is projected out of every gender-neutral word, for tags and queries."""
    if word_vectors is None and not debias:
        return default_model()
    path = "" if word_vectors is None else str(os.path.abspath(word_vectors))
    key = (path, debias)
    if key not in _MODELS:
        space = WordSpace.load(path) if path else default_model().space
        if debias:
            space = debias_space(space)
        _MODELS[key] = SemanticModel(space)
    return _MODELS[key]


_MODELS: dict[tuple[str, bool], SemanticModel] = {}


def build_embedder(
    word_vectors: str | os.PathLike[str] | None = None,
    projection: str | os.PathLike[str] | None = None,
    debias: bool = False,
) -> SemanticEmbedder:
    """The embedder the app uses: ConSE over the chosen word vectors, or a trained projection
    (a file written by :func:`photosearch.core.evaluation.training.train_projection`); ``debias``
    hard-debiases the word vectors (off by default)."""
    model = load_model(word_vectors, debias)
    if projection is None:
        return ConSEEmbedder(model)
    proj = Projection.load(projection)
    return ProjectionEmbedder(proj, model, mix=proj.mix)


def top_k(probs: np.ndarray, k: int = TOP_K) -> tuple[np.ndarray, np.ndarray]:
    """(n, 1000) probabilities -> the (n, k) int16 ids and float32 probabilities of the top k,
    best first (ties by class index), as the store keeps them."""
    ids, top = top_classes(probs, k)
    return ids.astype(np.int16), top


def _config_digest(model: SemanticModel) -> str:
    return hashlib.sha256(repr(model.config).encode()).hexdigest()[:8]
