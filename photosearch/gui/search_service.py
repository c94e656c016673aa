"""The GUI's single door to search, text search included.

Every query the window runs goes through :func:`run_query`; tags go through :func:`photo_tags`;
the semantic embedder for indexing comes from :func:`semantic_embedder`. Text search lives in
``photosearch.core.text``; when that package (or a part this module needs) is missing, text
queries fail with :class:`TextSearchUnavailable` and everything else keeps working.

All functions here run on worker threads (they import the text module, which is slow to import).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from photosearch.core.search import Filters, Result, Searcher
from photosearch.core.store import SEMANTIC_TABLE, Library, path_from_db, table_exists
from photosearch.core.vector_index import VectorIndex

log = logging.getLogger(__name__)

# Exceptions of the text module whose message is meant for the user (unknown words, bad syntax).
QUERY_ERROR_NAMES = ("UnknownQueryError", "QuerySyntaxError", "QueryError")
DEFAULT_K = 1000  # results of a query; the library view itself is not capped


class TextSearchUnavailable(Exception):
    """Text search is not installed in this build. The message is user-facing."""


@dataclass
class Outcome:
    results: list[Result]
    notes: list[str] = field(default_factory=list)  # e.g. words that were ignored


def query_problem(exc: BaseException) -> str | None:
    """The user-facing message of a query the user should rephrase, else None (a real error)."""
    if isinstance(exc, TextSearchUnavailable):
        return str(exc)
    for cls in type(exc).__mro__:
        if cls.__name__ in QUERY_ERROR_NAMES:
            return str(exc) or "the query could not be understood"
    return None


# --- text model ---------------------------------------------------------------------------------
_model_lock = threading.Lock()
_models: dict[str, Any] = {}


def text_model(word_vectors: str = "") -> Any:
    """The semantic model (word space + WordNet) for ``word_vectors`` ("" = shipped), cached."""
    with _model_lock:
        if word_vectors not in _models:
            try:
                from photosearch.core.text import embedder
            except ImportError:
                embedder = None  # type: ignore[assignment]
            try:
                if embedder is not None and hasattr(embedder, "load_model"):
                    model = embedder.load_model(word_vectors or None)
                else:
                    from photosearch.core.text.semantic import default_model

                    model = default_model()
            except ImportError as exc:
                raise TextSearchUnavailable("Text search is not available in this build.") from exc
            _models[word_vectors] = model
        return _models[word_vectors]


def semantic_embedder(word_vectors: str = "") -> Any | None:
    """The embedder that places photos in the word space while indexing, or None without text
    search (photos are then searchable by example only)."""
    try:
        from photosearch.core.text.embedder import build_embedder
    except ImportError:
        return None
    try:
        return build_embedder(word_vectors or None)
    except (OSError, ValueError) as exc:
        log.warning("word vectors unavailable (%s); indexing without text search", exc)
        return None


# --- queries -------------------------------------------------------------------------------------
def _fresh_index(searcher: Searcher) -> None:
    """Work around a core VectorIndex bug: an index first read before the library had a vector
    table keeps a zero-width snapshot and fails to merge the first vectors (ValueError in
    ``_apply_changes``). Rebuild it from scratch when that happens."""
    try:
        searcher.index.snapshot()
    except ValueError:
        log.debug("vector index out of shape; rebuilding it")
        searcher.index = VectorIndex(searcher.library)


_arrays_cache: tuple[Any, Any] | None = None


def _library_arrays(snap: Any, dim: int) -> Any:
    """LibraryArrays for a vector-index snapshot, rebuilt only when the snapshot changes."""
    global _arrays_cache
    from photosearch.core.text.query import LibraryArrays

    if _arrays_cache is not None and _arrays_cache[0] is snap:
        return _arrays_cache[1]
    semantic = snap.semantic
    if semantic is None or semantic.shape[1] != dim:
        semantic = np.zeros((len(snap), dim), np.float32)
    arrays = LibraryArrays(semantic, snap.top_ids, snap.top_probs, snap.visual)
    _arrays_cache = (snap, arrays)
    return arrays


def run_query(
    searcher: Searcher,
    text: str,
    image_path: str | None = None,
    k: int = DEFAULT_K,
    filters: Filters | None = None,
    word_vectors: str = "",
) -> Outcome:
    """Photos for a query: words (the text-search query language), an example image, or both.

    Raises :class:`TextSearchUnavailable` or the text module's query errors (see
    :func:`query_problem`) for queries the user should change.
    """
    _fresh_index(searcher)
    text = text.strip()
    if not text and image_path:
        return Outcome(searcher.similar_to_image(image_path, k, filters))
    if not text:
        return Outcome(library_photos(searcher, None, filters))
    try:
        from photosearch.core.text.query import ImageTerm, compile_query, parse_query, score_query
    except ImportError as exc:
        raise TextSearchUnavailable("Text search is not available in this build.") from exc
    model = text_model(word_vectors)
    images: list[Any] = []
    exclude = None
    if image_path:
        vector, photo = searcher.image_vector(image_path)
        images.append(ImageTerm(np.asarray(vector, np.float32), label=os.path.basename(image_path)))
        exclude = photo.id if photo else None
    compiled = compile_query(parse_query(text, images), model)
    snap = searcher.index.snapshot()
    if len(snap) == 0:
        return Outcome([])
    scores = score_query(compiled, _library_arrays(snap, model.dim), model)
    mask = filters.mask(snap) if filters else None
    if exclude is not None:
        mask = np.ones(len(snap), bool) if mask is None else mask.copy()
        mask &= snap.ids != exclude
    notes = []
    if compiled.unknown_words:
        notes.append("ignored unknown words: " + ", ".join(compiled.unknown_words))
    return Outcome(searcher.results(snap, scores, k, mask), notes)


def similar_to_photo(searcher: Searcher, photo_id: int, k: int = DEFAULT_K) -> list[Result]:
    _fresh_index(searcher)
    return searcher.similar_to_photo(photo_id, k)


def library_photos(
    searcher: Searcher, k: int | None = None, filters: Filters | None = None
) -> list[Result]:
    """The whole library, newest first (capture time, else file time).

    Without filters this is one SQL query over the photos table: no vectors and no full photo
    records are read, so it stays fast at 100k photos."""
    if filters is not None and filters.active():
        _fresh_index(searcher)
        return searcher.library_photos(k, filters)
    sql = (
        "SELECT id, path, COALESCE(taken_at, mtime) AS date FROM photos "
        "WHERE status = 'indexed' ORDER BY date DESC, id DESC"
    )
    params: tuple[Any, ...] = ()
    if k is not None:
        sql += " LIMIT ?"
        params = (k,)
    rows = searcher.library.reader().query(sql, params)
    return [Result(int(pid), path_from_db(path), float(date)) for pid, path, date in rows]


def warm_up(searcher: Searcher) -> None:
    """Load the vector index now so that the first query does not wait for it."""
    _fresh_index(searcher)


# --- tags ----------------------------------------------------------------------------------------
def photo_tags(library: Library, photo_id: int, n: int = 8, word_vectors: str = "") -> list[str]:
    """Readable tags for one photo ([] without text search or before it is indexed)."""
    classes = library.classes(photo_id)
    if classes is None:
        return []
    try:
        from photosearch.core.text.tags import photo_tags as tags_for
    except ImportError:
        return []
    semantic = None
    db = library.reader()
    if table_exists(db, SEMANTIC_TABLE):
        blob = db.scalar(f"SELECT embedding FROM {SEMANTIC_TABLE} WHERE photo_id = ?", (photo_id,))
        if blob is not None:
            semantic = np.frombuffer(blob, dtype=np.float32).copy()
    try:
        model = text_model(word_vectors)
        if semantic is not None and semantic.shape[0] != model.dim:
            semantic = None
        return [tag for tag, _ in tags_for(classes[0], classes[1], semantic, model, n)]
    except (ImportError, TextSearchUnavailable, OSError):
        return []
