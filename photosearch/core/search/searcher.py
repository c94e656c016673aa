"""Query by example (and the shared top-k machinery the text search uses)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from photosearch.core.library.rows import Photo
from photosearch.core.library.snapshot import Snapshot
from photosearch.core.library.store import Library
from photosearch.core.library.vector_index import VectorIndex


@dataclass(frozen=True)
class Result:
    photo_id: int
    path: str
    score: float
    match: str | None = None  # text queries: "good" (the photo shows what the words name) or "weak"

    def as_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {"path": self.path, "score": round(float(self.score), 6)}
        if self.match is not None:
            row["match"] = self.match
        return row


@dataclass(frozen=True)
class Filters:
    """Restrict results by date (capture time, else file time), camera name (substring) and to a
    set of photos (e.g. one folder's: :meth:`Library.photo_ids_in_folder`)."""

    after: float | None = None
    before: float | None = None
    camera: str | None = None
    photo_ids: frozenset[int] | None = None

    def active(self) -> bool:
        return (
            self.after is not None
            or self.before is not None
            or bool(self.camera)
            or self.photo_ids is not None
        )

    def mask(self, snap: Snapshot) -> np.ndarray | None:
        if not self.active():
            return None
        keep = np.ones(len(snap), bool)
        if self.after is not None:
            keep &= snap.dates >= self.after
        if self.before is not None:
            keep &= snap.dates < self.before
        if self.camera:
            wanted = self.camera.lower()
            keep &= np.fromiter(
                (bool(c) and wanted in c.lower() for c in snap.cameras), bool, len(snap)
            )
        if self.photo_ids is not None:
            wanted_ids = np.fromiter(self.photo_ids, np.int64, len(self.photo_ids))
            keep &= np.isin(snap.ids, wanted_ids)
        return keep


_GOOD_FIRST = 1e6  # lifts good matches above every weak one (scores are far smaller)


def _match(good: np.ndarray | None, row: int) -> str | None:
    return None if good is None else ("good" if good[row] else "weak")


def top_k(scores: np.ndarray, k: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Row indices of the ``k`` best scores, best first; rows outside ``mask`` never appear.

    Filtering happens before selection, so a filter never leaves fewer than ``k`` results when
    more match.
    """
    if mask is not None:
        candidates = np.flatnonzero(mask)
        if candidates.size == 0:
            return candidates
        sub = top_k(scores[candidates], k)
        return candidates[sub]
    n = scores.shape[0]
    if n == 0 or k <= 0:
        return np.zeros(0, np.int64)
    if k < n:
        part = np.argpartition(-scores, k - 1)[:k]
    else:
        part = np.arange(n)
    return part[np.argsort(-scores[part], kind="stable")]


class Searcher:
    """Answers queries against one library. Thread-safe for concurrent readers."""

    def __init__(
        self,
        library: Library,
        encoder_factory: Callable[[], Any] | None = None,
        index: VectorIndex | None = None,
    ) -> None:
        self.library = library
        self.index = index or VectorIndex(library)
        self._encoder_factory = encoder_factory
        self._encoder: Any = None

    @property
    def encoder(self) -> Any:
        if self._encoder is None:
            if self._encoder_factory is None:
                # lazy: the encoders' modules (~65 ms: PIL, the model cache) load with the first
                # image query, not when the GUI starts
                from photosearch.core.vision.loader import load_encoder

                self._encoder_factory = load_encoder
            self._encoder = self._encoder_factory()
        return self._encoder

    def results(
        self,
        snap: Snapshot,
        scores: np.ndarray,
        k: int,
        mask: np.ndarray | None = None,
        good: np.ndarray | None = None,
    ) -> list[Result]:
        """The ``k`` best rows as results; with ``good`` (a text query's confident matches),
        those come first and every result says whether it is "good" or "weak"."""
        ranking = scores if good is None else scores + good * _GOOD_FIRST
        rows = top_k(ranking, k, mask)
        ids = [int(snap.ids[r]) for r in rows]
        photos = self.library.photos(ids)
        return [
            Result(pid, photos[pid].path, float(scores[r]), _match(good, r))
            for pid, r in zip(ids, rows)
            if pid in photos
        ]

    def image_vector(self, path: str | os.PathLike[str]) -> tuple[np.ndarray, Photo | None]:
        """The visual vector of an image file: the stored one when it is in the library and
        unchanged, else freshly encoded. Raises ImageLoadError for unreadable files."""
        photo = self.library.photo_by_path(path)
        if photo is not None and photo.status == "indexed":
            stored = self.library.visual_vector(photo.id)
            if stored is not None:
                return stored, photo
        encoding = self.encoder.encode_paths([path])
        return encoding.vectors[0], photo

    def similar_to_vector(
        self,
        vector: np.ndarray,
        k: int = 20,
        exclude: int | None = None,
        filters: Filters | None = None,
    ) -> list[Result]:
        snap = self.index.snapshot()
        if len(snap) == 0:
            return []
        scores = snap.visual @ vector.astype(np.float32)
        mask = filters.mask(snap) if filters else None
        if exclude is not None:
            mask = np.ones(len(snap), bool) if mask is None else mask.copy()
            mask &= snap.ids != exclude
        return self.results(snap, scores, k, mask)

    def similar_to_image(
        self, path: str | os.PathLike[str], k: int = 20, filters: Filters | None = None
    ) -> list[Result]:
        """Photos most like the image at ``path`` (in the library or not), itself excluded."""
        vector, photo = self.image_vector(path)
        return self.similar_to_vector(vector, k, photo.id if photo else None, filters)

    def similar_to_photo(
        self, photo_id: int, k: int = 20, filters: Filters | None = None
    ) -> list[Result]:
        vector = self.library.visual_vector(photo_id)
        if vector is None:
            return []
        return self.similar_to_vector(vector, k, photo_id, filters)

    def library_photos(self, k: int | None = None, filters: Filters | None = None) -> list[Result]:
        """The library with no query: newest first (score = capture or file time)."""
        snap = self.index.snapshot()
        scores = snap.dates.astype(np.float64)
        mask = filters.mask(snap) if filters else None
        return self.results(snap, scores, k or len(snap), mask)
