"""Text search over a library: the one entry point the CLI and the GUI share.

Glues the store's in-memory index (:mod:`photosearch.core.library.vector_index`) to the word-space
scorer (:mod:`photosearch.core.text`). The library's stored semantic vectors always belong to
the word space in use: switching word vectors (or a trained projection) recomputes them from
what is stored, without reading a photo again.

The text layer (WordNet, the query language, taught words: ~55 ms of imports) is imported
inside the functions that use it, so that the GUI, which imports this module through its search
service, paints its first window without it; the first text query loads it on a worker.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from photosearch.core.indexing.semantic_sync import use_semantic_space
from photosearch.core.library.store import Library
from photosearch.core.library.vectors import read_semantic, top_classes
from photosearch.core.search.searcher import Filters, Result, Searcher

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
    # lazy: the text layer loads with the first text query (module docstring)
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
        self._words: Any = None

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
        # lazy: the text layer loads with the first text query (module docstring)
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
        # lazy: the text layer loads with the first text query (module docstring)
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
        vector = read_semantic(self.library.reader(), photo_id)
        return vector if vector is not None and vector.shape[0] == self.model.dim else None

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
        # lazy: the text layer loads with the first text query (module docstring)
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
        query = parse_query(text, terms)
        taught = self._taught_search(query, exclude, k, filters)
        if taught is not None:
            return taught
        compiled = compile_query(query, self.model)
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

    def score_all(self, text: str) -> tuple[Any, np.ndarray, np.ndarray | None]:
        """(snapshot, scores of every photo, "good" mask or None) for a query; what feedback
        refines (:class:`photosearch.core.search.feedback.Feedback`). Raises as :meth:`search`."""
        # lazy: the text layer loads with the first text query (module docstring)
        from photosearch.core.teach.search import score_with_taught, split_taught
        from photosearch.core.text import parse_query

        self.ensure_space()
        taught, rest = split_taught(parse_query(text), self.words.fitted())
        snap, arrays = self._library_arrays()
        if len(snap) == 0:
            return snap, np.zeros(0, np.float32), None
        scores, good, _ = score_with_taught(taught, rest, arrays, self.model)
        return snap, scores, good

    @property
    def words(self) -> Any:
        """The library's taught words (:class:`photosearch.core.teach.words.Words`)."""
        if self._words is None:
            # lazy: the text layer loads with the first text query (module docstring)
            from photosearch.core.teach.words import Words

            self._words = Words(self.library, self.searcher.index)
        return self._words

    def _taught_search(
        self, query: Any, exclude: set[int], k: int, filters: Filters | None
    ) -> Outcome | None:
        """The outcome of a query with taught words in it (docs/teach.md), else None. The
        examples of its taught words are left out of the results (``Words.examples`` has them)."""
        # lazy: the text layer loads with the first text query (module docstring)
        from photosearch.core.teach.search import score_with_taught, split_taught

        taught, rest = split_taught(query, self.words.fitted())
        if not taught:
            return None
        # A taught word's examples are its query photos: left out, as --image photos are.
        for t in taught:
            if t.term.weight > 0:
                exclude = exclude | set(self.words.examples(t.word)[0])
        snap, arrays = self._library_arrays()
        if len(snap) == 0:
            return Outcome([], [])
        scores, good, unknown = score_with_taught(taught, rest, arrays, self.model)
        notes = ["ignored unknown words: " + ", ".join(unknown)] if unknown else []
        mask = filters.mask(snap) if filters else None
        if exclude:
            mask = np.ones(len(snap), bool) if mask is None else mask.copy()
            mask &= ~np.isin(snap.ids, list(exclude))
        if good is None:
            return Outcome(self.searcher.results(snap, scores, k, mask), notes)
        total_good = int(good.sum() if mask is None else (good & mask).sum())
        return Outcome(self.searcher.results(snap, scores, k, mask, good), notes, total_good)

    def tags(self, photo_id: int, n: int = 8) -> list[tuple[str, float]]:
        """Words describing a library photo, best first ([] before it is indexed)."""
        # lazy: the text layer loads with the first text query (module docstring)
        from photosearch.core.text import photo_tags

        classes = self.library.classes(photo_id)
        if classes is None:
            return []
        self.ensure_space()
        tags = photo_tags(classes[0], classes[1], self._stored_semantic(photo_id), self.model, n)
        return self._with_taught_tags(self.library.visual_vector(photo_id), tags, n)

    def _with_taught_tags(
        self, vector: np.ndarray | None, tags: list[tuple[str, float]], n: int
    ) -> list[tuple[str, float]]:
        """Taught words the photo shows (by their own fit) first, then the other tags."""
        # lazy: the text layer loads with the first text query (module docstring)
        from photosearch.core.teach.search import taught_tags

        if vector is None:
            return tags
        taught = taught_tags(vector, self.words.fitted())
        names = {word for word, _ in taught}
        return (taught + [t for t in tags if t[0] not in names])[:n]

    def tags_for_image(self, path: str | os.PathLike[str], n: int = 8) -> list[tuple[str, float]]:
        """Tags of any image file: the stored analysis when it is in the library, else encoded."""
        # lazy: the text layer loads with the first text query (module docstring)
        from photosearch.core.text import photo_tags

        photo = self.library.photo_by_path(path)
        if photo is not None and photo.status == "indexed":
            return self.tags(photo.id, n)
        encoding = self.searcher.encoder.encode_paths([path])
        ids, probs = top_classes(encoding.probs)
        semantic = self.embedder.embed(encoding.vectors, ids, probs)[0]
        tags = photo_tags(ids[0], probs[0], semantic, self.model, n)
        return self._with_taught_tags(encoding.vectors[0], tags, n)


def unseen_note(model: Any, concept: Any) -> str:
    """What to tell the user about a word no photo class is close to."""
    related = ", ".join(model.related_names(concept))
    return f"no photo class is close to '{concept.text}'; showing related: {related}"
