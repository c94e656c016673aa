"""The GUI's single door to search, text search included.

Every query the window runs goes through :func:`run_query`; tags go through :func:`photo_tags`;
the semantic embedder for indexing comes from :func:`semantic_embedder`. All of them run on
worker threads: the first text query loads the word vectors.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from photosearch.core.errors import QueryError, TaughtWordProblem
from photosearch.core.library import browse
from photosearch.core.library.store import Library
from photosearch.core.search.searcher import Filters, Result, Searcher
from photosearch.core.search.text_search import Outcome, TextSearcher, build_library_embedder

log = logging.getLogger(__name__)

DEFAULT_K = 1000  # results of a query; the library view itself is not capped


def query_problem(exc: BaseException) -> str | None:
    """The user-facing message of a query the user should rephrase (unknown words, bad syntax, a
    taught word that cannot be used), else None."""
    if isinstance(exc, (QueryError, TaughtWordProblem)):
        return str(exc) or "the query could not be understood"
    return None


# --- text search ------------------------------------------------------------------------------
_lock = threading.Lock()
_text_searchers: dict[tuple[int, str], TextSearcher] = {}


def text_searcher(searcher: Searcher, word_vectors: str = "") -> TextSearcher:
    """The core text searcher for this library and word-vector file ("" = the shipped or the
    library's remembered vectors), cached: loading word vectors takes a moment."""
    key = (id(searcher), word_vectors)
    with _lock:
        found = _text_searchers.get(key)
        if found is None or found.searcher is not searcher:
            embedder = build_library_embedder(searcher.library, word_vectors or None)
            found = TextSearcher(searcher, embedder)
            _text_searchers[key] = found
        return found


def semantic_embedder(word_vectors: str = "", library: Library | None = None) -> Any | None:
    """The embedder that places photos in the word space while indexing, or None when the word
    vectors cannot be read (photos are then searchable by example only)."""
    # lazy: the text layer loads on the indexing thread, after first paint (see text_search)
    from photosearch.core.text import build_embedder

    try:
        if library is not None:
            return build_library_embedder(library, word_vectors or None)
        return build_embedder(word_vectors or None)
    except (OSError, ValueError) as exc:
        log.warning("word vectors unavailable (%s); indexing without text search", exc)
        return None


# --- queries -------------------------------------------------------------------------------------
def run_query(
    searcher: Searcher,
    text: str,
    image_path: str | None = None,
    k: int = DEFAULT_K,
    filters: Filters | None = None,
    word_vectors: str = "",
) -> Outcome:
    """Photos for a query: words (the text-search query language), an example image, or both.

    Raises a :class:`~photosearch.core.errors.QueryError` (see :func:`query_problem`) for
    queries the user should change.
    """
    text = text.strip()
    if not text and image_path:
        return Outcome(searcher.similar_to_image(image_path, k, filters))
    if not text:
        return Outcome(library_photos(searcher, None, filters))
    return text_searcher(searcher, word_vectors).search(
        text, [image_path] if image_path else [], k, filters
    )


def similar_to_photo(searcher: Searcher, photo_id: int, k: int = DEFAULT_K) -> list[Result]:
    return searcher.similar_to_photo(photo_id, k)


def library_photos(
    searcher: Searcher, k: int | None = None, filters: Filters | None = None
) -> list[Result]:
    """The whole library, newest first (capture time, else file time). Without filters this reads
    no vectors and no full photo records (:func:`photosearch.core.library.browse.photos_by_date`)."""
    if filters is not None and filters.active():
        return searcher.library_photos(k, filters)
    return [
        Result(pid, path, date) for pid, path, date in browse.photos_by_date(searcher.library, k)
    ]


def photo_dates(library: Library, photo_ids: list[int]) -> dict[int, float]:
    """Capture time (else file time) of each photo: what the grid sorts by date."""
    return browse.photo_dates(library, photo_ids)


def camera_counts(library: Library) -> list[tuple[str, int]]:
    """The cameras named by indexed photos with their photo counts, most photos first."""
    return browse.camera_counts(library)


def warm_up(searcher: Searcher) -> None:
    """Load the vector index now so that the first query does not wait for it."""
    searcher.index.snapshot()


# --- tags ----------------------------------------------------------------------------------------
def photo_tags(searcher: Searcher, photo_id: int, n: int = 8, word_vectors: str = "") -> list[str]:
    """Readable tags for one photo ([] without text search or before it is indexed)."""
    try:
        return [tag for tag, _ in text_searcher(searcher, word_vectors).tags(photo_id, n)]
    except (OSError, ValueError) as exc:  # word vectors that cannot be read: no tags
        log.debug("no tags for photo %d: %s", photo_id, exc)
        return []
