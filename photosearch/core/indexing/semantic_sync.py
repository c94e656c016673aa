"""Keep the stored word-space vectors in step with the chosen word space.

Semantic vectors are a function of what is already stored (each photo's top ImageNet classes and
its visual vector), so switching word vectors or projection recomputes them without reading a
single photo again.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from photosearch.core.library.store import (
    SEMANTIC_TABLE,
    VISUAL_TABLE,
    Library,
    decode_classes,
    ensure_vector_table,
    table_exists,
    write_semantic,
)

log = logging.getLogger(__name__)
CHUNK = 2048


def refresh_semantic_vectors(library: Library, semantic: Any) -> int:
    """Compute semantic vectors for indexed photos that have none; returns how many."""
    db = library.reader()
    if not (table_exists(db, SEMANTIC_TABLE) and table_exists(db, VISUAL_TABLE)):
        return 0
    missing = [
        r[0]
        for r in db.iter(
            f"SELECT p.id FROM photos p JOIN photo_classes c ON c.photo_id = p.id "
            f"WHERE p.model_id IS NOT NULL AND p.id NOT IN (SELECT photo_id FROM {SEMANTIC_TABLE})"
        )
    ]
    for start in range(0, len(missing), CHUNK):
        ids = missing[start : start + CHUNK]
        marks = ",".join("?" * len(ids))
        rows = db.query(
            f"SELECT c.photo_id, c.class_ids, c.probs, v.embedding FROM photo_classes c "
            f"JOIN {VISUAL_TABLE} v ON v.photo_id = c.photo_id WHERE c.photo_id IN ({marks})",
            ids,
        )
        if not rows:
            continue
        decoded = [decode_classes(r[1], r[2]) for r in rows]
        top_ids = np.stack([d[0] for d in decoded])
        top_probs = np.stack([d[1] for d in decoded])
        vectors = np.stack([np.frombuffer(r[3], dtype=np.float32) for r in rows])
        embedded = semantic.embed(vectors, top_ids, top_probs)
        pairs = [(int(r[0]), embedded[i]) for i, r in enumerate(rows)]

        def write(db_w: Any, pairs: list[tuple[int, np.ndarray]] = pairs) -> None:
            write_semantic(db_w, pairs)
            seq = int(db_w.scalar("SELECT value FROM meta WHERE key = 'seq'", default="0"))
            db_w.executemany("UPDATE photos SET seq = ? WHERE id = ?", [(seq, i) for i, _ in pairs])

        library.write(write)
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
