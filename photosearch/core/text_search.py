"""Text search over a library: the one entry point the CLI and the GUI share.

Glues the store's in-memory index (:mod:`photosearch.core.vector_index`) to the word-space
scorer (:mod:`photosearch.core.text`). The library's stored semantic vectors always belong to
the word space in use: switching word vectors (or a trained projection) recomputes them from
what is stored, without reading a photo again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from photosearch.core.search import Filters, Result, Searcher
from photosearch.core.semantic_sync import use_semantic_space
from photosearch.core.store import SEMANTIC_TABLE, Library, table_exists

WORD_VECTORS_KEY = "word_vectors_path"  # library meta: the user's word-vector file, "" = shipped
PROJECTION_KEY = "projection_path"
DEBIAS_KEY = "debias_words"  # "1": hard-debiased word vectors for tags and queries


@dataclass
class Outcome:
    results: list[Result]
    notes: list[str] = field(default_factory=list)  # e.g. words that were ignored
    # Text queries: how many photos (within the filters) are good matches; the results carry
    # "good" then "weak". None for a query without words.
    good: int | None = None


def remembered_word_vectors(library: Library) -> str | None:
    return library.meta(WORD_VECTORS_KEY) or None


def remembered_projection(library: Library) -> str | None:
    return library.meta(PROJECTION_KEY) or None


def build_library_embedder(
    library: Library,
    word_vectors: str | os.PathLike[str] | None = None,
    projection: str | os.PathLike[str] | None = None,
    remember: bool = True,
    debias: bool | None = None,
) -> Any:
    """The word-space embedder for ``library``: the given files, else the ones it last used.

    Given files (and ``debias``, when not None) are remembered in the library, so later commands
    (and the watcher) use them too. Raises the text module's WordSpaceError / ProjectionError
    with a user-facing message.
    """
    from photosearch.core.text import build_embedder

    vectors = os.fspath(word_vectors) if word_vectors else remembered_word_vectors(library)
    proj = os.fspath(projection) if projection else remembered_projection(library)
    use_debias = library.meta(DEBIAS_KEY) == "1" if debias is None else debias
    embedder = build_embedder(vectors, proj, debias=use_debias)
    if remember and debias is not None and (library.meta(DEBIAS_KEY) == "1") != debias:
        library.set_meta(DEBIAS_KEY, "1" if debias else "0")
    if remember and (word_vectors or projection):
        if word_vectors:
            library.set_meta(WORD_VECTORS_KEY, os.path.abspath(os.fspath(word_vectors)))
        if projection:
            library.set_meta(PROJECTION_KEY, os.path.abspath(os.fspath(projection)))
    return embedder


class TextSearcher:
    """Answers word queries (with optional example images) against one library."""

    def __init__(self, searcher: Searcher, embedder: Any) -> None:
        self.searcher = searcher
        self.embedder = embedder
        self._lock = threading.Lock()
        self._arrays: tuple[Any, Any] | None = None  # (snapshot, LibraryArrays)
        self._space_ready = False

    @property
    def library(self) -> Library:
        return self.searcher.library

    @property
    def model(self) -> Any:
        return self.embedder.model

    def ensure_space(self) -> int:
        """Make the stored semantic vectors match the embedder; returns how many were computed."""
        if self._space_ready and self.library.semantic_space() == self.embedder.space_id:
            return 0
        computed = use_semantic_space(self.library, self.embedder)
        self._space_ready = True
        return computed

    def _library_arrays(self) -> tuple[Any, Any]:
        from photosearch.core.text import LibraryArrays

        snap = self.searcher.index.snapshot()
        with self._lock:
            if self._arrays is not None and self._arrays[0] is snap:
                return self._arrays
            semantic = snap.semantic
            if semantic is None or semantic.shape[1] != self.model.dim:
                semantic = np.zeros((len(snap), self.model.dim), np.float32)
            self._arrays = (
                snap,
                LibraryArrays(semantic, snap.top_ids, snap.top_probs, snap.visual),
            )
            return self._arrays

    def image_term(self, path: str | os.PathLike[str]) -> tuple[Any, int | None]:
        """An example image as a query term (its visual vector, and its semantic vector)."""
        from photosearch.core.store import top_classes
        from photosearch.core.text import ImageTerm

        photo = self.library.photo_by_path(path)
        vector: np.ndarray | None = None
        semantic: np.ndarray | None = None
        if photo is not None and photo.status == "indexed":
            vector = self.library.visual_vector(photo.id)
            semantic = self._stored_semantic(photo.id)
        if vector is None:
            encoding = self.searcher.encoder.encode_paths([path])
            vector = encoding.vectors[0]
            ids, probs = top_classes(encoding.probs)
            semantic = self.embedder.embed(encoding.vectors, ids, probs)[0]
        term = ImageTerm(
            np.asarray(vector, np.float32), semantic, label=os.path.basename(os.fspath(path))
        )
        return term, (photo.id if photo is not None and photo.status == "indexed" else None)

    def _stored_semantic(self, photo_id: int) -> np.ndarray | None:
        db = self.library.reader()
        if not table_exists(db, SEMANTIC_TABLE):
            return None
        blob = db.scalar(f"SELECT embedding FROM {SEMANTIC_TABLE} WHERE photo_id = ?", (photo_id,))
        if blob is None:
            return None
        vector = np.frombuffer(blob, dtype=np.float32).copy()
        return vector if vector.shape[0] == self.model.dim else None

    def search(
        self,
        text: str,
        images: Sequence[str | os.PathLike[str]] = (),
        k: int = 20,
        filters: Filters | None = None,
    ) -> Outcome:
        """Photos for a query in the query language, best first.

        Raises UnknownQueryError (no word of the query is known) or QuerySyntaxError; both carry
        a message for the user.
        """
        from photosearch.core.text import compile_query, parse_query, score_query
        from photosearch.core.text.query import GOOD_MATCH, match_confidence

        self.ensure_space()
        terms = []
        exclude: set[int] = set()
        for path in images:
            term, photo_id = self.image_term(path)
            terms.append(term)
            if photo_id is not None:
                exclude.add(photo_id)
        compiled = compile_query(parse_query(text, terms), self.model)
        snap, arrays = self._library_arrays()
        notes = [unseen_note(self.model, c) for c in compiled.unseen]
        if compiled.unknown_words:
            notes.append("ignored unknown words: " + ", ".join(compiled.unknown_words))
        if len(snap) == 0:
            return Outcome([], notes)
        scores = score_query(compiled, arrays, self.model)
        mask = filters.mask(snap) if filters else None
        if exclude:
            mask = np.ones(len(snap), bool) if mask is None else mask.copy()
            mask &= ~np.isin(snap.ids, list(exclude))
        if not compiled.has_text:
            return Outcome(self.searcher.results(snap, scores, k, mask), notes)
        confidence = match_confidence(compiled, arrays)
        good = np.zeros(len(snap), bool) if confidence is None else confidence >= GOOD_MATCH
        results = self.searcher.results(snap, scores, k, mask, good)
        total_good = int(good.sum() if mask is None else (good & mask).sum())
        return Outcome(results, notes, total_good)

    def tags(self, photo_id: int, n: int = 8) -> list[tuple[str, float]]:
        """Words describing a library photo, best first ([] before it is indexed)."""
        from photosearch.core.text import photo_tags

        classes = self.library.classes(photo_id)
        if classes is None:
            return []
        self.ensure_space()
        return photo_tags(classes[0], classes[1], self._stored_semantic(photo_id), self.model, n)

    def tags_for_image(self, path: str | os.PathLike[str], n: int = 8) -> list[tuple[str, float]]:
        """Tags of any image file: the stored analysis when it is in the library, else encoded."""
        from photosearch.core.store import top_classes
        from photosearch.core.text import photo_tags

        photo = self.library.photo_by_path(path)
        if photo is not None and photo.status == "indexed":
            return self.tags(photo.id, n)
        encoding = self.searcher.encoder.encode_paths([path])
        ids, probs = top_classes(encoding.probs)
        semantic = self.embedder.embed(encoding.vectors, ids, probs)[0]
        return photo_tags(ids[0], probs[0], semantic, self.model, n)


def unseen_note(model: Any, concept: Any) -> str:
    """What to tell the user about a word no photo class is close to."""
    related = ", ".join(model.related_names(concept))
    return f"no photo class is close to '{concept.text}'; showing related: {related}"
