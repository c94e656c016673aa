"""Keep the stored word-space vectors in step with the chosen word space.

Semantic vectors are a function of what is already stored (each photo's top ImageNet classes and
its visual vector), so switching word vectors or projection recomputes them without reading a
single photo again.
"""

from __future__ import annotations

import logging
from typing import Any

from photosearch.core.library.embeddings import photos_without_semantic, semantic_inputs
from photosearch.core.library.store import Library
from photosearch.core.library.vectors import SEMANTIC_TABLE, ensure_vector_table, write_semantic

log = logging.getLogger(__name__)
CHUNK = 2048


def refresh_semantic_vectors(library: Library, semantic: Any) -> int:
    """Compute semantic vectors for indexed photos that have none; returns how many."""
    db = library.reader()
    missing = photos_without_semantic(db)
    for start in range(0, len(missing), CHUNK):
        inputs = semantic_inputs(db, missing[start : start + CHUNK])
        if inputs is None:
            continue
        ids, vectors, top_ids, top_probs = inputs
        pairs = list(zip(ids, semantic.embed(vectors, top_ids, top_probs)))
        library.write(lambda db_w, pairs=pairs: write_semantic(db_w, pairs))
    if missing:
        log.info("computed word-space vectors for %d photos", len(missing))
    return len(missing)


def use_semantic_space(library: Library, semantic: Any) -> int:
    """Make ``semantic`` (an embedder with ``space_id`` and ``dim``) the library's word space.

    Vectors of another space are dropped and recomputed from the stored top classes and visual
    vectors; returns how many photos were (re)computed.
    """
    library.write(
        lambda db: ensure_vector_table(
            db, SEMANTIC_TABLE, semantic.dim, semantic.space_id, "semantic_space"
        )
    )
    return refresh_semantic_vectors(library, semantic)
