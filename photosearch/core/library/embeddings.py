"""The embedding pipeline's reads and writes: which photos wait to be embedded, and one batch's
results (vectors, top classes, the row's new signature and metadata) or errors.

The writes run on the writer thread, inside a transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from photosearch.core.library.db import Database, chunked_in
from photosearch.core.library.meta import bump_seq
from photosearch.core.library.rows import path_from_db
from photosearch.core.library.vectors import (
    SEMANTIC_TABLE,
    VISUAL_TABLE,
    decode_classes,
    delete_vectors,
    ensure_vector_table,
    insert_classes,
    insert_vectors,
    table_exists,
)


@dataclass
class Embedded:
    """One photo's indexing result, as the indexer hands it to the writer."""

    photo_id: int
    size: int
    mtime: float
    content_hash: str
    width: int
    height: int
    taken_at: float | None
    camera: str | None
    vector: np.ndarray  # (visual_dim,) float32
    top_ids: np.ndarray  # (K,) uint16
    top_probs: np.ndarray  # (K,) float32
    semantic: np.ndarray | None = None  # (semantic_dim,) float32
    ctime: float | None = None  # with size, mtime and inode: the file's stat signature
    inode: int | None = None

    def row_values(self) -> tuple[Any, ...]:
        """The ``photos`` columns it sets, in the order of :func:`write_embeddings`' update."""
        return (
            self.size,
            self.mtime,
            self.ctime,
            self.inode,
            self.content_hash,
            self.width,
            self.height,
            self.taken_at,
            self.camera,
        )


# --- reads -----------------------------------------------------------------------------------
def pending_photos(db: Database) -> list[tuple[int, str]]:
    """(id, path) of every photo waiting to be embedded, oldest first."""
    rows = db.query("SELECT id, path FROM photos WHERE status = 'pending' ORDER BY id")
    return [(r[0], path_from_db(r[1])) for r in rows]


def has_pending(db: Database) -> bool:
    return db.scalar("SELECT 1 FROM photos WHERE status = 'pending' LIMIT 1") is not None


def still_pending(db: Database, ids: Iterable[int]) -> set[int]:
    """Those of ``ids`` still pending (a photo may change or vanish while it is encoded)."""
    sql = "SELECT id FROM photos WHERE status = 'pending' AND id IN ({marks})"
    return {r[0] for r in chunked_in(db, sql, ids)}


def photos_without_semantic(db: Database) -> list[int]:
    """Ids of the embedded photos that have classes but no word-space vector."""
    if not (table_exists(db, SEMANTIC_TABLE) and table_exists(db, VISUAL_TABLE)):
        return []
    return [
        r[0]
        for r in db.iter(
            f"SELECT p.id FROM photos p JOIN photo_classes c ON c.photo_id = p.id "
            f"WHERE p.model_id IS NOT NULL AND p.id NOT IN (SELECT photo_id FROM {SEMANTIC_TABLE})"
        )
    ]


def semantic_inputs(
    db: Database, ids: Sequence[int]
) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray] | None:
    """What a word-space vector is computed from, for those of ``ids`` that have it: their ids,
    visual vectors (n, Dv), top class ids (n, K) and probabilities (n, K); None when none has."""
    sql = (
        f"SELECT c.photo_id, c.class_ids, c.probs, v.embedding FROM photo_classes c "
        f"JOIN {VISUAL_TABLE} v ON v.photo_id = c.photo_id WHERE c.photo_id IN ({{marks}})"
    )
    rows = list(chunked_in(db, sql, ids))
    if not rows:
        return None
    decoded = [decode_classes(r[1], r[2]) for r in rows]
    return (
        [int(r[0]) for r in rows],
        np.stack([np.frombuffer(r[3], dtype=np.float32) for r in rows]),
        np.stack([d[0] for d in decoded]),
        np.stack([d[1] for d in decoded]),
    )


# --- writes ----------------------------------------------------------------------------------
def use_visual_model(db: Database, model_id: str, dim: int) -> None:
    """Make ``model_id`` the library's visual model: when the vectors stored came from another
    model (or dimension) they are dropped and every photo goes back to pending."""
    if not ensure_vector_table(db, VISUAL_TABLE, dim, model_id, "visual_model"):
        return
    seq = bump_seq(db)
    db.execute(
        "UPDATE photos SET status = 'pending', model_id = NULL, seq = ? "
        "WHERE status = 'indexed' OR model_id IS NOT NULL",
        (seq,),
    )
    db.execute("DELETE FROM photo_classes")


def write_embeddings(db: Database, model_id: str, rows: Sequence[Embedded]) -> None:
    """Store a batch of results and mark the photos indexed (call inside a transaction)."""
    if not rows:
        return
    seq = bump_seq(db)
    # vec0 has no upsert: replace by delete + insert.
    delete_vectors(db, [r.photo_id for r in rows])
    insert_vectors(db, VISUAL_TABLE, [(r.photo_id, r.vector) for r in rows])
    insert_classes(db, [(r.photo_id, r.top_ids, r.top_probs) for r in rows])
    semantic = [(r.photo_id, r.semantic) for r in rows if r.semantic is not None]
    if semantic and table_exists(db, SEMANTIC_TABLE):
        insert_vectors(db, SEMANTIC_TABLE, semantic)
    db.executemany(
        "UPDATE photos SET size = ?, mtime = ?, ctime = ?, inode = ?, content_hash = ?, "
        "width = ?, height = ?, taken_at = ?, camera = ?, status = 'indexed', error = NULL, "
        "model_id = ?, seq = ? WHERE id = ?",
        [(*r.row_values(), model_id, seq, r.photo_id) for r in rows],
    )


def write_errors(db: Database, errors: Sequence[tuple[int, str]]) -> None:
    """Mark photos that could not be read or decoded, with the reason."""
    if not errors:
        return
    seq = bump_seq(db)
    db.executemany(
        "UPDATE photos SET status = 'error', error = ?, seq = ? WHERE id = ?",
        [(message, seq, photo_id) for photo_id, message in errors],
    )
