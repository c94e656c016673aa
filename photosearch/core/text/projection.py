"""A DeViSE-style trainable projection (Frome et al. 2013): "train only the final step".

A linear map M (D -> dim) from the CNN's visual features to the word space, learned from labelled
photos (label = sub-folder name, or ``labels.csv`` with ``file,label``). Each label's target is the
word-space vector of its query text (WordNet-expanded, as for a search). Two losses:

* ``rank`` (DeViSE): hinge ranking loss, sum over the other labels j of
  ``max(0, margin - cos(Mv, t_y) + cos(Mv, t_j))``;
* ``cosine`` (the baseline): regression of ``1 - cos(Mv, t_y)``.

M starts as the least-squares fit of the photos' ConSE vectors, so training refines ConSE rather
than starting from nothing. Saved as ``.npz`` and loaded with ``allow_pickle=False``.

This module is what the runtime needs: the :class:`Projection` file and its use. Training lives
off the runtime path, in :mod:`photosearch.core.evaluation.training`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from photosearch.core.errors import WordSpaceProblem
from photosearch.core.text.wordspace import normalize

if TYPE_CHECKING:
    pass

FORMAT = "photosearch-projection"


class ProjectionError(WordSpaceProblem):
    """A projection file cannot be used, or training cannot run. Message is user-facing."""


@dataclass
class Projection:
    matrix: np.ndarray  # (D, dim) float32
    space_id: str  # the word space it maps into
    mix: float = 1.0  # weight of the projection vs. ConSE when embedding
    meta: dict = field(default_factory=dict)

    @property
    def digest(self) -> str:
        h = hashlib.sha256(np.ascontiguousarray(self.matrix, np.float32).tobytes())
        h.update(self.space_id.encode())
        return h.hexdigest()[:10]

    def project(self, features: np.ndarray) -> np.ndarray:
        features = np.asarray(features, np.float32)
        if features.ndim != 2 or features.shape[1] != self.matrix.shape[0]:
            raise ProjectionError(
                f"the projection expects {self.matrix.shape[0]}-d visual features, "
                f"got {features.shape}; it was trained with another image model"
            )
        return normalize(features @ self.matrix)

    def save(self, path: str | os.PathLike[str]) -> None:
        meta = dict(self.meta, format=FORMAT, space_id=self.space_id, mix=self.mix)
        with open(path, "wb") as f:  # a file object: np.savez must not append ".npz"
            np.savez(f, matrix=self.matrix.astype(np.float32), meta=np.array(json.dumps(meta)))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Projection:
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                matrix = np.asarray(data["matrix"], np.float32)
                meta = json.loads(str(data["meta"]))
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            raise ProjectionError(f"cannot read projection {path}: {exc}") from exc
        if meta.get("format") != FORMAT or matrix.ndim != 2:
            raise ProjectionError(f"{path} is not a photosearch projection file")
        return cls(matrix, str(meta["space_id"]), float(meta.get("mix", 1.0)), meta)
