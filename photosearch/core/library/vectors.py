"""The vector and class tables: each photo's visual and word-space vectors (sqlite-vec ``vec0``
tables) and its top ImageNet classes (``photo_classes``).

The writes run on the writer thread, inside a transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from photosearch.core.library.db import Database
from photosearch.core.library.meta import bump_seq, read_meta, set_meta

TOP_K_CLASSES = 32
VISUAL_TABLE = "vec_visual"
SEMANTIC_TABLE = "vec_semantic"


def top_classes(probs: np.ndarray, k: int = TOP_K_CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """(n, 1000) probabilities -> (n, k) class ids (uint16) and probabilities, best first (ties
    by class index, so the result is reproducible)."""
    probs = np.asarray(probs, np.float32)
    k = min(k, probs.shape[1])
    ids = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return ids.astype(np.uint16), np.take_along_axis(probs, ids, axis=1)


def encode_classes(ids: np.ndarray, probs: np.ndarray) -> tuple[bytes, bytes]:
    return ids.astype("<u2").tobytes(), probs.astype("<f2").tobytes()


def decode_classes(ids: bytes, probs: bytes) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.frombuffer(ids, dtype="<u2").astype(np.int64),
        np.frombuffer(probs, dtype="<f2").astype(np.float32),
    )


def vector_blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def table_exists(db: Database, name: str) -> bool:
    return db.scalar("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)) is not None


def ensure_vector_table(db: Database, table: str, dim: int, owner: str, owner_key: str) -> bool:
    """Create ``table`` (vec0, float[dim]) for ``owner`` (a model or word-space id).

    When the stored vectors came from another owner or dimension they are dropped and ``True`` is
    returned: the caller must then mark the affected photos for recomputation.
    """
    current = read_meta(db, owner_key)
    current_dim = read_meta(db, owner_key + "_dim")
    exists = table_exists(db, table)
    if exists and current == owner and current_dim == str(dim):
        return False
    if exists:
        db.execute(f"DROP TABLE {table}")
    db.execute(
        f"CREATE VIRTUAL TABLE {table} USING vec0(photo_id INTEGER PRIMARY KEY, embedding float[{dim}])"
    )
    set_meta(db, owner_key, owner)
    set_meta(db, owner_key + "_dim", str(dim))
    return exists or current is not None


def read_vector(db: Database, table: str, photo_id: int) -> np.ndarray | None:
    """A photo's stored vector in ``table``, or None (none stored, or no such table yet)."""
    if not table_exists(db, table):
        return None
    blob = db.scalar(f"SELECT embedding FROM {table} WHERE photo_id = ?", (photo_id,))
    return None if blob is None else np.frombuffer(blob, dtype=np.float32).copy()


def read_semantic(db: Database, photo_id: int) -> np.ndarray | None:
    """A photo's stored word-space vector, or None (none stored, or no word space yet)."""
    return read_vector(db, SEMANTIC_TABLE, photo_id)


def read_classes(db: Database, photo_id: int) -> tuple[np.ndarray, np.ndarray] | None:
    """A photo's top class ids and probabilities, best first, or None."""
    row = db.query_one("SELECT class_ids, probs FROM photo_classes WHERE photo_id = ?", (photo_id,))
    return None if row is None else decode_classes(row[0], row[1])


def insert_vectors(db: Database, table: str, rows: Sequence[tuple[int, np.ndarray]]) -> None:
    db.executemany(
        f"INSERT INTO {table}(photo_id, embedding) VALUES (?, ?)",
        [(photo_id, vector_blob(vector)) for photo_id, vector in rows],
    )


def insert_classes(db: Database, rows: Sequence[tuple[int, np.ndarray, np.ndarray]]) -> None:
    db.executemany(
        "INSERT INTO photo_classes(photo_id, class_ids, probs) VALUES (?, ?, ?)",
        [(photo_id, *encode_classes(ids, probs)) for photo_id, ids, probs in rows],
    )


def delete_vectors(db: Database, ids: Sequence[int]) -> None:
    if not ids:
        return
    for table in (VISUAL_TABLE, SEMANTIC_TABLE):
        if table_exists(db, table):
            db.executemany(f"DELETE FROM {table} WHERE photo_id = ?", [(i,) for i in ids])
    db.executemany("DELETE FROM photo_classes WHERE photo_id = ?", [(i,) for i in ids])


def write_semantic(db: Database, rows: Sequence[tuple[int, np.ndarray]]) -> None:
    """Replace semantic vectors (after the word space changed), stamping their photos with a new
    ``seq`` so that the vector index reloads them."""
    if not rows:
        return
    seq = bump_seq(db)
    db.executemany(f"DELETE FROM {SEMANTIC_TABLE} WHERE photo_id = ?", [(i,) for i, _ in rows])
    insert_vectors(db, SEMANTIC_TABLE, rows)
    db.executemany("UPDATE photos SET seq = ? WHERE id = ?", [(seq, i) for i, _ in rows])
